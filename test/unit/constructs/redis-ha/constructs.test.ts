// The two constructs redis-ha is made of, used on their own as a library user would: required
// props only, documented defaults filled in, and an explicit `undefined` keeping a default.
import { Chart, Testing } from 'cdk8s';
import { RedisMasterProxy, REDIS_MASTER_PROXY_DEFAULTS } from '../../../../constructs/redis-ha/haproxy';
import { RedisSentinelStatefulSet, REDIS_SENTINEL_DEFAULTS } from '../../../../constructs/redis-ha/sentinel';
import { redisHaSchema } from '../../../../constructs/redis-ha';
import { parseConfig } from '../../../../constructs/validation';

const resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

function sentinel(extra: Record<string, unknown> = {}) {
  const chart = new Chart(Testing.app(), 'test');
  const construct = new RedisSentinelStatefulSet(chart, 'cache', {
    name: 'cache',
    image: 'redis:8.2.2',
    resources,
    ...extra,
  });
  return { construct, objects: chart.toJson() };
}

describe('RedisSentinelStatefulSet', () => {
  it('renders its objects with the documented defaults from required props only', () => {
    const { objects } = sentinel();
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/cache',
      'Service/cache-headless',
      'Service/cache-sentinel',
      'StatefulSet/cache',
      'PodDisruptionBudget/cache',
    ]);
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
    expect(
      sts.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
    const script = objects.find((o) => o.kind === 'ConfigMap').data['sentinel-start.sh'];
    expect(script).toContain('sentinel monitor $MASTER_SET $master 6379 2\n');
    expect(script).not.toMatch(/@[A-Z_]+@/);
    const env = sts.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'HEADLESS_DOMAIN', value: 'cache-headless.$(POD_NAMESPACE).svc.cluster.local' });
    expect(env).toContainEqual({
      name: 'REDIS_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'redis-ha-auth', key: 'password' } },
    });
  });

  it('an explicit undefined keeps the default; a given value wins', () => {
    const sts = (objs: any[]) => objs.find((o) => o.kind === 'StatefulSet');
    expect(sts(sentinel({ replicas: undefined, quorum: undefined }).objects).spec.replicas).toBe(3);
    expect(sts(sentinel({ replicas: 5 }).objects).spec.replicas).toBe(5);
  });

  it('names every pod by its stable host name', () => {
    expect(sentinel({ replicas: 3, clusterDomain: 'k8s.example' }).construct.podHostNames('ns')).toEqual([
      { pod: 'cache-0', host: 'cache-0.cache-headless.ns.svc.k8s.example' },
      { pod: 'cache-1', host: 'cache-1.cache-headless.ns.svc.k8s.example' },
      { pod: 'cache-2', host: 'cache-2.cache-headless.ns.svc.k8s.example' },
    ]);
  });
});

describe('RedisMasterProxy', () => {
  it('renders HAProxy in front of the given servers, with the documented defaults', () => {
    const chart = new Chart(Testing.app(), 'test');
    new RedisMasterProxy(chart, 'proxy', {
      name: 'front',
      serviceName: 'front-master',
      servers: [
        { pod: 'a-0', host: 'a-0.example' },
        { pod: 'a-1', host: 'a-1.example' },
      ],
      passwordEnv: { name: 'REDIS_PASSWORD', value: 'not-for-production' },
    });
    const objects = chart.toJson();
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/front',
      'Service/front-master',
      'Deployment/front',
      'PodDisruptionBudget/front',
    ]);
    const cfg: string = objects[0].data['haproxy.cfg'];
    expect(cfg.endsWith('  server a-0 "a-0.example:6379"\n  server a-1 "a-1.example:6379"\n')).toBe(true);
    expect(cfg).toContain('  bind :8404\n');
    expect(cfg).toContain('  bind :8405\n');
    expect(cfg).not.toMatch(/@[A-Z_]+@/);
    const deployment = objects[2];
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0].image).toBe('haproxy:3.2.6');
    expect(objects[1].spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });
});

describe('defaults exist once', () => {
  it("the configuration schema defaults are the constructs' defaults", () => {
    const c = parseConfig(redisHaSchema, {});
    const { clusterDomain: _domain, ...sentinelDefaults } = REDIS_SENTINEL_DEFAULTS;
    expect({
      sentinelResources: c.sentinel.resources,
      replicas: c.replicas,
      quorum: c.quorum,
      masterSet: c.masterSet,
      downAfterMilliseconds: c.downAfterMilliseconds,
      failoverTimeoutMilliseconds: c.failoverTimeoutMilliseconds,
      minReplicasToWrite: c.minReplicasToWrite,
      minReplicasMaxLag: c.minReplicasMaxLag,
      auth: c.auth,
      storage: c.storage,
      antiAffinity: c.antiAffinity,
    }).toEqual(sentinelDefaults);
    expect(c.haproxy).toEqual(REDIS_MASTER_PROXY_DEFAULTS);
  });
});
