// The redis-ha chart as rendered: snapshot, Pod Security "restricted", fixed names, no
// secret material, the Sentinel/HAProxy configuration, and the configuration rules.
import { spawnSync } from 'node:child_process';
import { App, Yaml } from 'cdk8s';
import { redisCommonSchema } from '../../../constructs/redis-common';
import { RedisHaChart, redisHaSchema, type RedisHaConfig } from '../../../constructs/redis-ha';
import { ConfigError, parseConfig } from '../../../constructs/validation';

function render(config: unknown = {}, opts: { id?: string; namespace?: string; clusterDomain?: string } = {}): any[] {
  const chart = new RedisHaChart(new App(), opts.id ?? 'redis-ha', {
    namespace: opts.namespace ?? 'default',
    clusterDomain: opts.clusterDomain ?? 'cluster.local',
    config: parseConfig(redisHaSchema, config),
    redis: parseConfig(redisCommonSchema, {}),
  });
  return chart.toJson();
}

const objs = render();
const find = (kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  return o;
};
const sts = find('StatefulSet', 'redis-ha');
const podSpec = sts.spec.template.spec;
const container = (name: string) => podSpec.containers.find((c: any) => c.name === name);
const cm = find('ConfigMap', 'redis-ha').data as Record<string, string>;
const haproxyCfg: string = find('ConfigMap', 'redis-ha-haproxy').data['haproxy.cfg'];
const proxy = find('Deployment', 'redis-ha-haproxy');

describe('redis-ha chart', () => {
  it('matches its snapshot', () => {
    expect(Yaml.stringify(...objs)).toMatchSnapshot();
  });

  it('is deterministic', () => {
    expect(render()).toEqual(objs);
    expect(JSON.stringify(objs)).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
  });

  it('has fixed names, all in the namespace', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/redis-ha',
      'ConfigMap/redis-ha-haproxy',
      'Deployment/redis-ha-haproxy',
      'NetworkPolicy/redis-ha',
      'NetworkPolicy/redis-ha-haproxy',
      'PodDisruptionBudget/redis-ha',
      'PodDisruptionBudget/redis-ha-haproxy',
      'Service/redis-ha-headless',
      'Service/redis-ha-master',
      'Service/redis-ha-sentinel',
      'StatefulSet/redis-ha',
    ]);
    for (const o of objs) expect(o.metadata.namespace).toBe('default');
  });

  it('renders no Secret and no password: the password comes from the user-created Secret', () => {
    expect(objs.some((o) => o.kind === 'Secret')).toBe(false);
    const ref = { secretKeyRef: { name: 'redis-ha-auth', key: 'password' } };
    for (const c of [container('redis'), container('sentinel'), proxy.spec.template.spec.containers[0]]) {
      expect(c.env).toContainEqual({ name: 'REDIS_PASSWORD', valueFrom: ref });
    }
    // Every mention of the password in rendered config is the variable.
    const text = JSON.stringify(objs);
    expect(text).not.toMatch(/requirepass [^$]/);
    expect(text).not.toMatch(/auth-pass \S+ [^$]/);
    expect(haproxyCfg).toContain('tcp-check send "AUTH ${REDIS_PASSWORD}\\r\\n"');
  });
});

describe('Pod Security "restricted"', () => {
  it.each([
    ['StatefulSet/redis-ha', podSpec],
    ['Deployment/redis-ha-haproxy', proxy.spec.template.spec],
  ])('%s', (_n, spec: any) => {
    const allowed = [
      'configMap',
      'csi',
      'downwardAPI',
      'emptyDir',
      'ephemeral',
      'persistentVolumeClaim',
      'projected',
      'secret',
    ];
    for (const v of spec.volumes ?? [])
      expect(
        Object.keys(v)
          .filter((k) => k !== 'name')
          .every((k) => allowed.includes(k)),
      ).toBe(true);
    expect(spec.hostNetwork ?? false).toBe(false);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of spec.containers) {
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.securityContext.runAsUser).toBeGreaterThan(0);
      expect(c.image).toMatch(/:[0-9][A-Za-z0-9_.-]*$/);
      expect(c.livenessProbe).toBeDefined();
      expect(c.readinessProbe).toBeDefined();
      expect(JSON.stringify(c.livenessProbe)).not.toEqual(JSON.stringify(c.readinessProbe));
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits).toBeDefined();
    }
  });
});

describe('topology and availability', () => {
  it('runs 3 pods of Redis + Sentinel with stable names and a PVC each', () => {
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.serviceName).toBe('redis-ha-headless');
    expect(podSpec.containers.map((c: any) => c.name)).toEqual(['redis', 'sentinel']);
    expect(sts.spec.volumeClaimTemplates[0]).toMatchObject({
      metadata: { name: 'data' },
      spec: { resources: { requests: { storage: '1Gi' } } },
    });
    expect(container('redis').volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    const headless = find('Service', 'redis-ha-headless');
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(headless.spec.ports.map((p: any) => p.port)).toEqual([6379, 26379]);
  });

  it('has PDBs and soft anti-affinity by default, hard on request', () => {
    expect(find('PodDisruptionBudget', 'redis-ha').spec).toEqual({ maxUnavailable: 1, selector: sts.spec.selector });
    expect(find('PodDisruptionBudget', 'redis-ha-haproxy').spec).toEqual({
      maxUnavailable: 1,
      selector: proxy.spec.selector,
    });
    expect(
      podSpec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector
        .matchLabels,
    ).toEqual(sts.spec.selector.matchLabels);
    const hard = render({ antiAffinity: 'hard' }).find((o) => o.kind === 'StatefulSet');
    expect(
      hard.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
  });

  it('Services select the right pods; the Sentinel Service keeps not-ready pods', () => {
    const sentinel = find('Service', 'redis-ha-sentinel');
    expect(sentinel.spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(sentinel.spec.publishNotReadyAddresses).toBe(true);
    expect(sentinel.spec.ports).toEqual([{ name: 'sentinel', port: 26379, targetPort: 'sentinel' }]);
    const master = find('Service', 'redis-ha-master');
    expect(master.spec.selector).toEqual(proxy.spec.selector.matchLabels);
    expect(proxy.spec.template.metadata.labels).toMatchObject(proxy.spec.selector.matchLabels);
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    // Redis and HAProxy pods never match each other's selectors.
    expect(Object.entries(master.spec.selector).every(([k, v]) => sts.spec.template.metadata.labels[k] === v)).toBe(
      false,
    );
  });

  it('selectors do not depend on construct ids', () => {
    const renamed = render({}, { id: 'something-else' });
    const sel = (os: any[], kind: string) => os.find((o) => o.kind === kind).spec.selector;
    expect(sel(renamed, 'StatefulSet')).toEqual(sel(objs, 'StatefulSet'));
    expect(sel(renamed, 'Deployment')).toEqual(sel(objs, 'Deployment'));
    expect(JSON.stringify(objs)).not.toContain('cdk8s.io/metadata.addr');
  });

  it('rolls pods when their configuration changes', () => {
    const other = render({ downAfterMilliseconds: 7000 }).find((o) => o.kind === 'StatefulSet');
    expect(other.spec.template.metadata.annotations['checksum/config']).not.toEqual(
      sts.spec.template.metadata.annotations['checksum/config'],
    );
  });
});

describe('Sentinel and Redis configuration', () => {
  const sentinel = cm['sentinel-start.sh'];

  it('uses host names, not IPs, and the configured quorum and timeouts', () => {
    const lines = sentinel.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.startsWith(s));
    expect(at('sentinel resolve-hostnames yes')).toBeGreaterThan(-1);
    expect(at('sentinel announce-hostnames yes')).toBeGreaterThan(-1);
    expect(at('sentinel resolve-hostnames yes')).toBeLessThan(at('sentinel monitor'));
    expect(sentinel).toContain('sentinel monitor $MASTER_SET $master 6379 2');
    expect(sentinel).toContain('sentinel down-after-milliseconds $MASTER_SET 5000');
    expect(sentinel).toContain('sentinel failover-timeout $MASTER_SET 60000');
    expect(cm['redis-start.sh']).toContain('echo "replica-announce-ip $self"');
    const env = Object.fromEntries(
      container('redis')
        .env.filter((e: any) => e.value)
        .map((e: any) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      NAME: 'redis-ha',
      REPLICAS: '3',
      MASTER_SET: 'mymaster',
      HEADLESS_DOMAIN: 'redis-ha-headless.$(POD_NAMESPACE).svc.cluster.local',
    });
  });

  it('bounds what an isolated master accepts', () => {
    expect(cm['redis.conf']).toContain('min-replicas-to-write 1');
    expect(cm['redis.conf']).toContain('appendonly yes');
    expect(render({ minReplicasToWrite: 0 }).find((o) => o.kind === 'ConfigMap').data['redis.conf']).toContain(
      'min-replicas-to-write 0',
    );
  });

  it.each(Object.keys(cm).filter((k) => k.endsWith('.sh')))('%s is valid sh', (key) => {
    const r = spawnSync('sh', ['-n'], { input: cm[key], encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('liveness tolerates a missing master; readiness wants a linked replica; both authenticate', () => {
    const live = container('redis').livenessProbe.exec.command.join(' ');
    const ready = container('redis').readinessProbe.exec.command.join(' ');
    expect(live).toContain('MASTERDOWN*');
    expect(live).toContain('LOADING*');
    expect(ready).toContain('master_link_status:up');
    for (const p of [live, ready]) expect(p).toContain('REDISCLI_AUTH="$REDIS_PASSWORD"');
  });
});

describe('HAProxy master endpoint', () => {
  it('forwards only to the server reporting role:master, checking every second', () => {
    expect(haproxyCfg).toContain('tcp-check expect string role:master');
    expect(haproxyCfg).toMatch(/default-server check inter 1s .*on-marked-down shutdown-sessions/);
    for (let i = 0; i < 3; i++) {
      expect(haproxyCfg).toContain(
        `server redis-ha-${i} "redis-ha-${i}.redis-ha-headless.\${POD_NAMESPACE}.svc.cluster.local:6379"`,
      );
    }
  });

  it('needs no Kubernetes API access', () => {
    expect(objs.some((o) => ['Role', 'RoleBinding', 'ClusterRole', 'ServiceAccount'].includes(o.kind))).toBe(false);
    expect(proxy.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('follows cluster domain and replica count; takes the namespace from the pod', () => {
    const os = render({ replicas: 5, quorum: 3 }, { namespace: 'cache', clusterDomain: 'k8s.example' });
    const cfg: string = os.find((o) => o.metadata.name === 'redis-ha-haproxy' && o.kind === 'ConfigMap').data[
      'haproxy.cfg'
    ];
    expect(cfg).toContain('server redis-ha-4 "redis-ha-4.redis-ha-headless.${POD_NAMESPACE}.svc.k8s.example:6379"');
    expect(os.find((o) => o.kind === 'StatefulSet').spec.replicas).toBe(5);
    expect(os.every((o) => o.metadata.namespace === 'cache')).toBe(true);
    // Nothing but metadata.namespace names the namespace: the manifests apply anywhere.
    expect(JSON.stringify(os.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: undefined } })))).not.toContain(
      'cache',
    );
    expect(os.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].env).toContainEqual({
      name: 'POD_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
  });
});

describe('configuration rules', () => {
  const defaults: RedisHaConfig = parseConfig(redisHaSchema, {});

  it('defaults every field', () => {
    expect(defaults).toMatchObject({
      name: 'redis-ha',
      replicas: 3,
      quorum: 2,
      masterSet: 'mymaster',
      downAfterMilliseconds: 5000,
      failoverTimeoutMilliseconds: 60000,
      auth: { secretName: 'redis-ha-auth', passwordKey: 'password' },
      storage: { size: '1Gi' },
      antiAffinity: 'soft',
      haproxy: { image: 'haproxy:3.2.6', replicas: 2 },
    });
  });

  it.each([
    [{ replicas: 2 }, 'replicas: must be at least 3'],
    [{ quorum: 4 }, 'quorum: must be at most replicas (3)'],
    [{ minReplicasToWrite: 3 }, 'minReplicasToWrite: must be at most replicas - 1 (2)'],
    [{ haproxy: { image: 'haproxy:latest' } }, "haproxy.image: must not use the tag 'latest'"],
    [{ name: 'Redis_HA' }, 'name: must be a DNS-1123 label'],
    [{ storage: { size: '0Gi' } }, 'storage.size: must be greater than zero'],
    [{ antiAffinity: 'maybe' }, 'antiAffinity:'],
    [{ sentinels: 3 }, 'sentinels: unknown key'],
  ])('%j is rejected', (input, message) => {
    let err: unknown;
    try {
      parseConfig(redisHaSchema, input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toContain(message);
  });
});
