// bench/compare/options.ts and the bench:operator options it adds (--resize-to, --container-port).
import { describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { order, parseCompareOptions } from '../../../../bench/compare/options';
import { synthesizedOperator } from '../../../../cluster/operator-process';
import { parseOptions } from '../../../../bench/operator/options';
import { crBody } from '../../../../bench/operator/phases';

describe('parseCompareOptions', () => {
  it('defaults to the documented comparison: N = 1000, 2 runs, 120 s idle, sizes 2 → 3 with a port, no limits, no leader election', () => {
    const o = parseCompareOptions([]);
    expect(o).toMatchObject({
      ns: [1000],
      runs: 2,
      idleS: 120,
      workers: [4],
      minSize: 2,
      maxSize: 2,
      resizeTo: 3,
      containerPort: 11211,
      single: 0,
      limits: false,
      leaderElect: false,
      tier: 'workload',
    });
    expect(o.out).toBe(resolve('bench/results/compare.json'));
  });

  it('runs ours with the workers of the synthesized Deployment', () => {
    const args = synthesizedOperator().args ?? [];
    expect(args).toContain(`--max-concurrent-reconciles=${parseCompareOptions([]).workers[0]}`);
  });

  it('lets any default be overridden', () => {
    const o = parseCompareOptions(['--n', '50', '--runs', '1', '--idle', '10', '--limits', '--out', '/tmp/x.json']);
    expect(o).toMatchObject({ ns: [50], runs: 1, idleS: 10, limits: true, out: '/tmp/x.json' });
  });

  it("refuses several worker counts and sizes the Go sample's CRD rejects", () => {
    expect(() => parseCompareOptions(['--workers', '4,16'])).toThrow('--workers takes one value');
    expect(() => parseCompareOptions(['--resize-to', '5'])).toThrow('sizes must be 1..3');
    expect(() => parseCompareOptions(['--min-size', '0'])).toThrow('sizes must be 1..3');
  });
});

describe('order', () => {
  it('alternates which operator goes first', () => {
    expect(order(1, 'ours', 'go')).toEqual(['ours', 'go']);
    expect(order(2, 'ours', 'go')).toEqual(['go', 'ours']);
    expect(order(3, 'ours', 'go')).toEqual(['ours', 'go']);
  });
});

describe('--resize-to and --container-port (bench:operator)', () => {
  it('are unset by default and validated', () => {
    expect(parseOptions([])).toMatchObject({ resizeTo: undefined, containerPort: undefined });
    expect(parseOptions(['--resize-to', '3', '--container-port', '11211'])).toMatchObject({
      resizeTo: 3,
      containerPort: 11211,
    });
    expect(() => parseOptions(['--resize-to', '9'])).toThrow('--resize-to must be an integer 0..5');
    expect(() => parseOptions(['--container-port', '70000'])).toThrow('--container-port must be a port number');
  });

  it('puts the port into each Memcached only when given', () => {
    expect(crBody({ containerPort: undefined }, 'mc-0', 2)).toEqual({
      apiVersion: 'cache.example.com/v1alpha1',
      kind: 'Memcached',
      metadata: { name: 'mc-0' },
      spec: { size: 2 },
    });
    expect(crBody({ containerPort: 11211 }, 'mc-1', 3).spec).toEqual({ size: 3, containerPort: 11211 });
  });
});
