// What every Redis stack must carry, checked on the synthesized objects (issue 12): a
// maxmemory derived from the container's memory limit and the stack's eviction policy; a
// configuration checksum on every pod template that mounts a ConfigMap.
import { parseStackConfig } from '../../../constructs/config';
import { maxmemory } from '../../../constructs/redis-common';
import { configChecksum } from '../../../constructs/template';
import { objectsOf, podSpecOf, synthFiles, type Obj } from './helpers';

const FILES = ['redis-pod.k8s.yaml', 'redis-deployment.k8s.yaml', 'redis-statefulset.k8s.yaml', 'redis-ha.k8s.yaml'];

/** The redis container's memory settings, wherever the stack puts them (arguments or redis.conf). */
function memorySettings(objs: Obj[]): { maxmemory?: string; policy?: string; limit: string } {
  const workload = objs.find((o) => podSpecOf(o) && !o.metadata.name.endsWith('haproxy'))!;
  const redis = podSpecOf(workload)!.containers.find((c: Obj) => c.name === 'redis');
  const args: string[] = redis.args ?? [];
  const conf: string = objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.data?.['redis.conf'] ?? '').join('\n');
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
    const mounted = podSpecOf(w)!.volumes.filter((v: Obj) => v.configMap).map((v: Obj) => v.configMap.name);
    expect(mounted).toHaveLength(1);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === mounted[0])!;
    expect(w.spec.template.metadata.annotations?.['checksum/config']).toBe(configChecksum(cm.data));
  });

  test('a redis-sfs configuration change changes the annotation', () => {
    const sts = (cfg?: Parameters<typeof synthFiles>[0]) =>
      objectsOf(synthFiles(cfg)['redis-statefulset.k8s.yaml']).find((o) => o.kind === 'StatefulSet')!.spec.template.metadata.annotations['checksum/config'];
    expect(sts(parseStackConfig({ redis: { resources: { limits: { memory: '512Mi' } } } }))).not.toBe(sts());
  });
});
