// bench/operator/options.ts: the benchmark's command line.
import { describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { benchNamespaces, crPath, nodeOptions, parseOptions, watchPaths } from '../../../../bench/operator/options';

describe('parseOptions', () => {
  it('has the documented defaults', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({
      ns: [100, 1000],
      workers: [4, 16],
      runs: 2,
      tier: 'workload',
      idleS: 60,
      limits: true,
      leaderElect: true,
      keepGoing: true,
      single: 20,
    });
    expect(o.out).toBe(resolve('bench/results/operator.json'));
  });

  it('reads lists, negated flags and the api tier', () => {
    const o = parseOptions([
      '--n',
      '10, 20',
      '--workers',
      '2',
      '--runs',
      '1',
      '--tier',
      'api',
      '--no-limits',
      '--no-leader-elect',
      '--idle',
      '0',
    ]);
    expect(o).toMatchObject({
      ns: [10, 20],
      workers: [2],
      runs: 1,
      tier: 'api',
      limits: false,
      leaderElect: false,
      idleS: 0,
    });
  });

  it('rejects bad input with the reason', () => {
    expect(() => parseOptions(['--tier', 'cloud'])).toThrow('--tier must be api or workload');
    expect(() => parseOptions(['--n', 'x'])).toThrow('--n and --workers need positive integers');
    expect(() => parseOptions(['--min-size', '3', '--max-size', '2'])).toThrow(
      'sizes must satisfy 0 <= min <= max <= 5',
    );
    expect(() => parseOptions(['--bogus'])).toThrow(/bogus/);
  });

  it('leaves out the controllers --disable-controllers names, and only those it knows', () => {
    expect(parseOptions([]).disableControllers).toEqual([]);
    expect(
      parseOptions(['--disable-controllers', 'endpoints-controller,endpointslice-mirroring-controller'])
        .disableControllers,
    ).toEqual(['endpoints-controller', 'endpointslice-mirroring-controller']);
    expect(() => parseOptions(['--disable-controllers', 'endpoints'])).toThrow(
      /--disable-controllers: not among the controllers the control plane runs: endpoints \(it runs deployment-controller/,
    );
  });

  it('--help is an option of its own', () => {
    expect(parseOptions(['--help']).help).toBe(true);
    expect(parseOptions([]).help).toBe(false);
  });
});

describe('nodeOptions', () => {
  it('joins --node-options and the CPU profile flags, or sets nothing', () => {
    expect(nodeOptions(parseOptions([]), 10, 2, 1)).toBeUndefined();
    const o = parseOptions(['--node-options=--max-old-space-size=128', '--cpu-prof', '/tmp/prof']);
    expect(nodeOptions(o, 10, 2, 1)).toEqual({
      NODE_OPTIONS:
        '--max-old-space-size=128 --cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-name=operator-n10-w2-r1.cpuprofile',
    });
  });
});

describe('--namespaces', () => {
  it('keeps one namespace, bench, by default and watches it alone', () => {
    expect(parseOptions([]).namespaces).toBe(1);
    expect(benchNamespaces(1)).toEqual(['bench']);
    expect(watchPaths(1).deployments).toBe('/apis/apps/v1/namespaces/bench/deployments');
  });

  it('spreads over numbered namespaces and watches across all of them', () => {
    expect(parseOptions(['--namespaces', '100']).namespaces).toBe(100);
    const names = benchNamespaces(100);
    expect(names).toHaveLength(100);
    expect(names[0]).toBe('bench-000');
    expect(names[99]).toBe('bench-099');
    expect(watchPaths(100)).toEqual({
      memcacheds: expect.stringMatching(/^\/apis\/[^/]+\/[^/]+\/memcacheds$/),
      deployments: '/apis/apps/v1/deployments',
    });
    expect(crPath('bench-007')).toMatch(/\/namespaces\/bench-007\/memcacheds$/);
  });

  it('rejects a count out of range and a single watched namespace with several', () => {
    expect(() => parseOptions(['--namespaces', '0'])).toThrow(/--namespaces/);
    expect(() => parseOptions(['--namespaces', '1.5'])).toThrow(/--namespaces/);
    expect(() => parseOptions(['--namespaces', '4', '--watch-namespace'])).toThrow(/--watch-namespace/);
  });
});
