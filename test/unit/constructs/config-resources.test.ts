// `resources` settings: a partial setting merges over the stack's defaults field by field, CPU
// may be a YAML number as in a Kubernetes manifest, and every bad value still fails with the
// field's path.
import { parse } from 'yaml';
import { parseStackConfig } from '../../../constructs/config';
import { allObjects, podSpecOf } from './helpers';

const redisContainer = (objs: any[], kind: string, name: string) =>
  podSpecOf(objs.find((o) => o.kind === kind && o.metadata.name === name)!)!.containers[0];

describe('resources: partial settings merge with the defaults', () => {
  it('only requests: limits keep their defaults', () => {
    const c = parseStackConfig({ redis: { resources: { requests: { cpu: '100m', memory: '128Mi' } } } });
    expect(c.redis.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
  });

  it('only limits.memory: every other part keeps its default', () => {
    const c = parseStackConfig({ memcached: { operator: { resources: { limits: { memory: '1Gi' } } } } });
    expect(c.memcached.operator.resources).toEqual({
      requests: { cpu: '10m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '1Gi' },
    });
  });

  it("merges for the HA stack's Sentinel and HAProxy too", () => {
    const c = parseStackConfig({
      redis: {
        ha: { sentinel: { resources: { requests: { cpu: '20m' } } }, haproxy: { resources: { limits: { cpu: '1' } } } },
      },
    });
    expect(c.redis.ha.sentinel.resources).toEqual({
      requests: { cpu: '20m', memory: '16Mi' },
      limits: { cpu: '100m', memory: '64Mi' },
    });
    expect(c.redis.ha.haproxy.resources).toEqual({
      requests: { cpu: '10m', memory: '32Mi' },
      limits: { cpu: '1', memory: '128Mi' },
    });
  });

  it('the merged result is what the manifests carry', () => {
    const objs = allObjects(parseStackConfig({ redis: { resources: { requests: { memory: '200Mi' } } } }));
    expect(redisContainer(objs, 'Deployment', 'redis-deployment').resources).toEqual({
      requests: { cpu: '50m', memory: '200Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
  });

  it('checks requests against the merged limits, naming the field', () => {
    expect(() => parseStackConfig({ redis: { resources: { requests: { memory: '1Gi' } } } })).toThrow(
      /redis\.resources: requests\.memory must not exceed limits\.memory/,
    );
    expect(() => parseStackConfig({ memcached: { operator: { resources: { limits: { cpu: '5m' } } } } })).toThrow(
      /memcached\.operator\.resources: requests\.cpu must not exceed limits\.cpu/,
    );
  });
});

describe('resources: CPU as a number', () => {
  it.each([
    ['cpu: 2', 2, '2'],
    ['cpu: 0.5', 0.5, '0.5'],
    ['cpu: 1.25', 1.25, '1.25'],
  ])('accepts %s as Kubernetes does', (_yaml, cpu, text) => {
    const c = parseStackConfig({ redis: { resources: { limits: { cpu } } } });
    expect(c.redis.resources.limits.cpu).toBe(text);
  });

  it('renders numeric cores like the same value written as a string', () => {
    const fromYaml = parse(
      'redis:\n  resources:\n    requests: { cpu: 0.5, memory: 64Mi }\n    limits: { cpu: 2, memory: 256Mi }\n',
    );
    const fromStrings = {
      redis: { resources: { requests: { cpu: '0.5', memory: '64Mi' }, limits: { cpu: '2', memory: '256Mi' } } },
    };
    const a = allObjects(parseStackConfig(fromYaml));
    const b = allObjects(parseStackConfig(fromStrings));
    expect(a).toEqual(b);
    expect(redisContainer(a, 'Pod', 'redis').resources).toEqual({
      requests: { cpu: '500m', memory: '64Mi' },
      limits: { cpu: '2000m', memory: '256Mi' },
    });
    expect(
      podSpecOf(a.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis-sfs')!)!.containers[0].resources
        .limits.cpu,
    ).toBe('2');
  });
});

describe('resources: bad values still fail with the field', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a negative number of cores',
      { redis: { resources: { limits: { cpu: -1 } } } },
      /redis\.resources\.limits\.cpu: must be CPU in millicores/,
    ],
    [
      'more than millicore precision',
      { redis: { resources: { requests: { cpu: 0.0005 } } } },
      /redis\.resources\.requests\.cpu: must be CPU in millicores/,
    ],
    [
      'CPU that is not a quantity',
      { redis: { resources: { requests: { cpu: 'fast' } } } },
      /redis\.resources\.requests\.cpu: must be CPU in millicores/,
    ],
    [
      'CPU as a boolean',
      { redis: { resources: { requests: { cpu: true } } } },
      /redis\.resources\.requests\.cpu: must be string/,
    ],
    [
      'memory without a unit',
      { redis: { resources: { limits: { memory: 512 } } } },
      /redis\.resources\.limits\.memory: must be string/,
    ],
    [
      'memory in another unit',
      { memcached: { operator: { resources: { limits: { memory: '1G' } } } } },
      /memcached\.operator\.resources\.limits\.memory: must be memory in Mi or Gi/,
    ],
    [
      'an unknown key in requests',
      { redis: { resources: { requests: { cpus: '1' } } } },
      /redis\.resources\.requests\.cpus: unknown key/,
    ],
    [
      'an unknown key beside requests',
      { redis: { resources: { request: { cpu: '1' } } } },
      /redis\.resources\.request: unknown key/,
    ],
    [
      'requests that are not a mapping',
      { redis: { resources: { requests: '1' } } },
      /redis\.resources\.requests: must be object/,
    ],
  ];

  it.each(cases)('rejects %s', (_name, input, message) => {
    expect(() => parseStackConfig(input)).toThrow(message);
  });
});
