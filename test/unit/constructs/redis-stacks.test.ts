// What every Redis stack must carry, checked on the synthesized objects (issue 12): a
// maxmemory derived from the container's memory limit and the stack's eviction policy; a
// configuration checksum on every pod template that mounts a ConfigMap; NetworkPolicies; the
// redis-sfs password.
import { parseStackConfig } from '../../../constructs/config';
import { execFileSync, spawnSync } from 'node:child_process';
import { maxmemory } from '../../../constructs/redis-common';
import { START_SCRIPT, redisStatefulSetSchema } from '../../../constructs/redis-statefulset';
import { parseConfig } from '../../../constructs/validation';
import { configChecksum } from '../../../constructs/template';
import { objectsOf, podSpecOf, synthFiles, type Obj } from './helpers';

const FILES = ['redis-pod.k8s.yaml', 'redis-deployment.k8s.yaml', 'redis-statefulset.k8s.yaml', 'redis-ha.k8s.yaml'];

/** The redis container's memory settings, wherever the stack puts them (arguments or redis.conf). */
function memorySettings(objs: Obj[]): { maxmemory?: string; policy?: string; limit: string } {
  const workload = objs.find((o) => podSpecOf(o) && !o.metadata.name.endsWith('haproxy'))!;
  const redis = podSpecOf(workload)!.containers.find((c: Obj) => c.name === 'redis');
  const args: string[] = redis.args ?? [];
  const conf: string = objs
    .filter((o) => o.kind === 'ConfigMap')
    .map((o) => o.data?.['redis.conf'] ?? '')
    .join('\n');
  const fromArgs = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const fromConf = (k: string) => new RegExp(`^${k} (\\S+)$`, 'm').exec(conf)?.[1];
  return {
    maxmemory: fromArgs('--maxmemory') ?? fromConf('maxmemory'),
    policy: fromArgs('--maxmemory-policy') ?? fromConf('maxmemory-policy'),
    limit: redis.resources.limits.memory,
  };
}

describe('maxmemory', () => {
  test('is half the memory limit', () => {
    const r = (memory: string) => ({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '1', memory } });
    expect(maxmemory(r('256Mi'))).toBe('128mb');
    expect(maxmemory(r('1Gi'))).toBe('512mb');
    expect(maxmemory(r('1.5Gi'))).toBe('768mb');
    expect(maxmemory(r('100Mi'))).toBe('50mb');
  });

  test.each([
    ['redis-pod.k8s.yaml', 'allkeys-lru'],
    ['redis-deployment.k8s.yaml', 'allkeys-lru'],
    ['redis-statefulset.k8s.yaml', 'noeviction'],
    ['redis-ha.k8s.yaml', 'noeviction'],
  ])('%s: set from the limit, policy %s', (file, policy) => {
    const defaults = memorySettings(objectsOf(synthFiles()[file]));
    expect(defaults).toEqual({ maxmemory: '128mb', policy, limit: '256Mi' });
    const big = parseStackConfig({ redis: { resources: { limits: { memory: '2Gi' } } } });
    expect(memorySettings(objectsOf(synthFiles(big)[file]))).toMatchObject({ maxmemory: '1024mb', policy });
  });

  test('every Redis stack is covered', () => {
    expect(Object.keys(synthFiles()).filter((f) => f.startsWith('redis'))).toEqual([...FILES].sort());
  });
});

describe('checksum/config', () => {
  // Redis, Sentinel and HAProxy read their configuration only at start: a pod template that
  // mounts a ConfigMap carries the hash of that ConfigMap's data, so a change rolls its pods.
  const files = synthFiles();
  const cases = Object.entries(files)
    .filter(([f]) => f.startsWith('redis'))
    .flatMap(([f, text]) => {
      const objs = objectsOf(text);
      return objs
        .filter((o) => podSpecOf(o)?.volumes?.some((v: Obj) => v.configMap))
        .map((w) => [`${f} ${w.kind} ${w.metadata.name}`, w, objs] as const);
    });

  test('every Redis workload that mounts a ConfigMap is covered', () => {
    expect(cases.map(([n]) => n).sort()).toEqual([
      'redis-ha.k8s.yaml Deployment redis-ha-haproxy',
      'redis-ha.k8s.yaml StatefulSet redis-ha',
      'redis-statefulset.k8s.yaml StatefulSet redis-sfs',
    ]);
  });

  test.each(cases)('%s: the pod template carries the hash of its ConfigMap', (_n, w, objs) => {
    const mounted = podSpecOf(w)!
      .volumes.filter((v: Obj) => v.configMap)
      .map((v: Obj) => v.configMap.name);
    expect(mounted).toHaveLength(1);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === mounted[0])!;
    expect(w.spec.template.metadata.annotations?.['checksum/config']).toBe(configChecksum(cm.data));
  });

  test('a redis-sfs configuration change changes the annotation', () => {
    const sts = (cfg?: Parameters<typeof synthFiles>[0]) =>
      objectsOf(synthFiles(cfg)['redis-statefulset.k8s.yaml']).find((o) => o.kind === 'StatefulSet')!.spec.template
        .metadata.annotations['checksum/config'];
    expect(sts(parseStackConfig({ redis: { resources: { limits: { memory: '512Mi' } } } }))).not.toBe(sts());
  });
});

describe('NetworkPolicy', () => {
  const files = synthFiles();
  const selects = (sel: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(sel).every(([k, v]) => labels?.[k] === v);
  /** Which ports a pod with `from` labels (same namespace unless `otherNamespace`) may reach on a pod with `to` labels. */
  const allowed = (
    policies: Obj[],
    to: Record<string, string>,
    from: Record<string, string>,
    otherNamespace = false,
  ): number[] =>
    policies
      .filter((p) => selects(p.spec.podSelector.matchLabels, to))
      .flatMap((p) => p.spec.ingress ?? [])
      .filter((rule: Obj) =>
        rule.from.some(
          (peer: Obj) =>
            selects(peer.podSelector?.matchLabels ?? {}, from) &&
            (otherNamespace ? peer.namespaceSelector !== undefined : true),
        ),
      )
      .flatMap((rule: Obj) => rule.ports.map((p: Obj) => p.port))
      .sort();

  test.each([
    'redis-pod.k8s.yaml',
    'redis-deployment.k8s.yaml',
    'redis-statefulset.k8s.yaml',
    'redis-ha.k8s.yaml',
    'memcached-operator.k8s.yaml',
  ])('%s: every pod is isolated for ingress, and no rule admits everyone', (file) => {
    const objs = objectsOf(files[file]);
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
    expect(policies.length).toBeGreaterThan(0);
    for (const w of objs.filter((o) => podSpecOf(o))) {
      const labels = w.kind === 'Pod' ? w.metadata.labels : w.spec.template.metadata.labels;
      const mine = policies.filter((p) => selects(p.spec.podSelector.matchLabels, labels));
      expect(`${w.kind}/${w.metadata.name}: ${mine.length}`).toBe(`${w.kind}/${w.metadata.name}: 1`);
      expect(mine[0].spec.policyTypes).toEqual(['Ingress']);
      for (const rule of mine[0].spec.ingress) {
        expect(rule.from.length).toBeGreaterThan(0);
        for (const peer of rule.from)
          expect(Object.keys(peer.podSelector?.matchLabels ?? {}).length).toBeGreaterThan(0);
        expect(rule.ports.length).toBeGreaterThan(0);
      }
    }
  });

  const pods = (file: string) => objectsOf(files[file]);
  const policiesOf = (file: string) => pods(file).filter((o) => o.kind === 'NetworkPolicy');
  const stranger = { app: 'anything-else' };

  test.each([
    ['redis-pod.k8s.yaml', 'redis'],
    ['redis-deployment.k8s.yaml', 'redis-deployment'],
  ])('%s: labelled clients reach 6379, nobody else', (file, name) => {
    const redis = { app: name, 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': name };
    expect(allowed(policiesOf(file), redis, { [`${name}-client`]: 'true' })).toEqual([6379]);
    expect(allowed(policiesOf(file), redis, stranger)).toEqual([]);
  });

  test('redis-statefulset.k8s.yaml: clients and the other ordinals reach 6379', () => {
    const sfs = { app: 'redis-sfs', 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis-sfs' };
    const p = policiesOf('redis-statefulset.k8s.yaml');
    expect(allowed(p, sfs, { 'redis-sfs-client': 'true' })).toEqual([6379]);
    expect(allowed(p, sfs, sfs)).toEqual([6379]);
    expect(allowed(p, sfs, stranger)).toEqual([]);
  });

  test('redis-ha.k8s.yaml: clients reach HAProxy and Sentinel, HAProxy reaches Redis, pods reach each other', () => {
    const p = policiesOf('redis-ha.k8s.yaml');
    const server = {
      'app.kubernetes.io/name': 'redis',
      'app.kubernetes.io/instance': 'redis-ha',
      'app.kubernetes.io/component': 'server',
    };
    const proxy = { 'app.kubernetes.io/name': 'haproxy', 'app.kubernetes.io/instance': 'redis-ha-haproxy' };
    const client = { 'redis-ha-client': 'true' };
    expect(allowed(p, proxy, client)).toEqual([6379]);
    expect(allowed(p, server, client)).toEqual([26379, 6379]);
    expect(allowed(p, server, server)).toEqual([26379, 6379]);
    expect(allowed(p, server, proxy)).toEqual([6379]);
    expect(allowed(p, server, stranger)).toEqual([]);
    expect(allowed(p, proxy, stranger)).toEqual([]);
  });

  test('memcached-operator.k8s.yaml: only labelled metrics scrapers, from any namespace, on the metrics port', () => {
    const p = policiesOf('memcached-operator.k8s.yaml');
    const op = { 'app.kubernetes.io/name': 'memcached-operator', 'app.kubernetes.io/instance': 'memcached-operator' };
    expect(allowed(p, op, { 'memcached-operator-metrics-client': 'true' }, true)).toEqual([8080]);
    expect(allowed(p, op, stranger)).toEqual([]);
  });
});

describe('redis-sfs authentication', () => {
  const objs = objectsOf(synthFiles()['redis-statefulset.k8s.yaml']);
  const sts = objs.find((o) => o.kind === 'StatefulSet')!;
  const redis = sts.spec.template.spec.containers[0];

  test('the password comes from the Secret the user creates; nothing secret is rendered', () => {
    expect(objs.some((o) => o.kind === 'Secret')).toBe(false);
    expect(redis.env).toContainEqual({
      name: 'REDIS_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'redis-sfs-auth', key: 'password' } },
    });
    // Probes authenticate; the runtime config with the password is on a memory volume.
    for (const p of [redis.livenessProbe, redis.readinessProbe])
      expect(p.exec.command[2]).toMatch(/^export REDISCLI_AUTH="\$REDIS_PASSWORD"; /);
    expect(sts.spec.template.spec.volumes).toContainEqual({
      name: 'run',
      emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
    });
  });

  test('the Secret name and key are configurable and checked', () => {
    expect(parseConfig(redisStatefulSetSchema, { auth: { secretName: 'mine', passwordKey: 'pw' } }).auth).toEqual({
      secretName: 'mine',
      passwordKey: 'pw',
    });
    expect(() => parseConfig(redisStatefulSetSchema, { auth: { secretName: 'Not_A_Name' } })).toThrow(
      /auth.secretName/,
    );
    expect(() => parseConfig(redisStatefulSetSchema, { auth: { passwordKey: 'a b' } })).toThrow(/auth.passwordKey/);
    expect(() => parseConfig(redisStatefulSetSchema, { auth: { other: 1 } })).toThrow(/unknown key/);
  });

  test.each([[''], ['has space'], ['quote"'], ['new\nline'], ['dollar$']])(
    'the start script refuses password %j before writing any config',
    (password) => {
      const r = spawnSync('sh', ['-c', START_SCRIPT], {
        env: {
          PATH: process.env.PATH,
          HOSTNAME: 'redis-sfs-0',
          REDIS_PASSWORD: password,
          AUTH_SECRET: 'redis-sfs-auth/password',
          MASTER_HOST: 'x',
        },
        encoding: 'utf8',
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/password in Secret redis-sfs-auth\/password must be non-empty/);
    },
  );

  test('sh accepts the script', () => {
    expect(() => execFileSync('sh', ['-n', '-c', START_SCRIPT])).not.toThrow();
  });
});
