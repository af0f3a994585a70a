// What every Redis stack must carry, checked on the synthesized objects (issue 12): a
// maxmemory derived from the container's memory limit and the stack's eviction policy.
import { parseStackConfig } from '../../../constructs/config';
import { maxmemory } from '../../../constructs/redis-common';
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
