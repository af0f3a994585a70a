// bench/compare/table.ts: the side-by-side figures, ratios and targets of bench:compare.
import { describe, expect, it } from '@jest/globals';
import {
  clientRows,
  comparisonRows,
  fmt,
  markdown,
  ratio,
  statusWrites,
  targetChecks,
  targetLines,
  verbResourceRows,
} from '../../../../bench/compare/table';
import type { PhaseResult, RunResult } from '../../../../bench/operator/types';

/** A phase with the given timings (ms) and operator requests by "verb resource". */
function phase(
  ms: { deployments?: number; available?: number; status?: number },
  byVerbResource: Record<string, number> = {},
): PhaseResult {
  const total = Object.values(byVerbResource).reduce((a, b) => a + b, 0);
  return {
    converged: true,
    convergedCount: 1,
    allDeploymentsMs: ms.deployments,
    allDeploymentsAvailableMs: ms.available,
    allStatusMs: ms.status,
    operatorRequests: { total, writes: 0, byVerb: {}, byVerbResource, errors: {}, meanServerMs: {} },
  } as unknown as PhaseResult;
}

function run(
  operator: string,
  o: {
    n?: number;
    create: PhaseResult;
    update: PhaseResult;
    idle?: Record<string, number>;
    idleWrites?: number;
    rss?: number;
    cpu?: number;
    kcm?: [number, number];
  },
): RunResult {
  const idleReq = o.idle ?? {};
  return {
    operator,
    n: o.n ?? 10,
    create: o.create,
    update: o.update,
    idle: { writesExcludingLease: o.idleWrites ?? 0, operatorRequests: { total: 0, byVerbResource: idleReq } },
    operatorTotal: { peakRssMiB: o.rss, cpuSeconds: o.cpu },
    cpuByComponent: {
      create: { wallS: 1, cpuS: { 'kube-controller-manager': o.kcm?.[0] ?? 0, 'kube-apiserver': 1 } },
      idle: { wallS: 1, cpuS: {} },
      update: { wallS: 1, cpuS: { 'kube-controller-manager': o.kcm?.[1] ?? 0, 'kube-apiserver': 2 } },
    },
  } as unknown as RunResult;
}

const ours = [
  run('ours', {
    create: phase(
      { deployments: 2_000, available: 60_000, status: 61_000 },
      { 'create deployments': 10, 'patch memcacheds/status': 30 },
    ),
    update: phase({ available: 30_000 }, { 'patch deployments': 10, 'patch memcacheds/status': 20 }),
    rss: 200,
    cpu: 20,
    kcm: [20, 10],
  }),
  run('ours', {
    create: phase(
      { deployments: 4_000, available: 80_000, status: 81_000 },
      { 'create deployments': 10, 'patch memcacheds/status': 40 },
    ),
    update: phase({ available: 50_000 }, { 'patch deployments': 10, 'patch memcacheds/status': 20 }),
    rss: 220,
    cpu: 30,
    kcm: [30, 10],
  }),
];
const go = [
  run('go', {
    create: phase(
      { deployments: 12_000, available: 50_000, status: 13_000 },
      { 'create deployments': 10, 'update memcacheds/status': 20, 'update memcacheds': 10 },
    ),
    update: phase({ available: 40_000 }, { 'update deployments': 10, 'update memcacheds/status': 10 }),
    idleWrites: 10,
    idle: { 'update memcacheds/status': 10 },
    rss: 70,
    cpu: 10,
    kcm: [10, 5],
  }),
];

describe('ratio and fmt', () => {
  it('divide ours by Go and leave missing or zero denominators empty', () => {
    expect(ratio(67, 51.5)).toBe('1.30');
    expect(ratio(1, 0)).toBe('');
    expect(ratio(undefined, 2)).toBe('');
    expect(fmt(undefined)).toBe('–');
    expect(fmt(NaN)).toBe('–');
    expect(fmt(2.345, 2)).toBe('2.35');
  });
});

describe('statusWrites', () => {
  it('counts updates and patches of memcacheds/status only', () => {
    expect(
      statusWrites(
        phase(
          {},
          {
            'update memcacheds/status': 3,
            'patch memcacheds/status': 2,
            'update memcacheds': 7,
            'get memcacheds/status': 1,
          },
        ),
      ),
    ).toBe(5);
  });
});

describe('comparisonRows', () => {
  const rows = comparisonRows(ours, go, 120);
  const row = (label: string) => rows.find((r) => r.label.startsWith(label))!;

  it('takes medians over runs and divides ours by Go', () => {
    expect(row('create: every Deployment has its replicas')).toEqual({
      label: 'create: every Deployment has its replicas (s)',
      ours: '3.0',
      go: '12.0',
      ratio: '0.25',
    });
    expect(row('create: every Deployment Available')).toMatchObject({ ours: '70.0', go: '50.0', ratio: '1.40' });
    expect(row('resize: every Deployment Available')).toMatchObject({ ours: '40.0', go: '40.0', ratio: '1.00' });
    expect(row('peak RSS')).toMatchObject({ ours: '210', go: '70', ratio: '3.00' });
    expect(row('operator CPU')).toMatchObject({ ours: '25.0', go: '10.0', ratio: '2.50' });
  });

  it('gives per-object figures for create / resize in one row', () => {
    // ours: 45 and 30 requests over 10 objects; Go: 40 and 20
    expect(row('requests per object')).toMatchObject({ ours: '4.50 / 3.00', go: '4.00 / 2.00', ratio: '1.13 / 1.50' });
    expect(row('status writes per object')).toMatchObject({ ours: '3.50 / 2.00', go: '2.00 / 1.00', ratio: '' });
    expect(row('kube-controller-manager CPU')).toMatchObject({
      ours: '25.0 / 10.0',
      go: '10.0 / 5.0',
      ratio: '2.50 / 2.00',
    });
  });

  it('names the idle window and counts the writes in it', () => {
    expect(row('writes while idle')).toMatchObject({
      label: 'writes while idle for 120 s (leases left out)',
      ours: '0',
      go: '10',
      ratio: '0.00',
    });
  });

  it('shows a dash, not a number, for a figure nobody measured', () => {
    const r = comparisonRows([], go, 10).find((x) => x.label.startsWith('peak RSS'))!;
    expect(r).toMatchObject({ ours: '–', go: '70', ratio: '' });
  });
});

describe('targetChecks', () => {
  it('checks the three targets and says by how much one is missed', () => {
    const [createAvail, resizeAvail, deployments] = targetChecks(ours, go);
    expect(createAvail).toMatchObject({ ours: 70, go: 50, ratio: 1.4, limit: 1, met: false, overS: 20 });
    expect(resizeAvail).toMatchObject({ ratio: 1, limit: 1.2, met: true, overS: undefined });
    expect(deployments).toMatchObject({ ours: 3, go: 12, ratio: 0.25, met: true });
    const lines = targetLines([createAvail, resizeAvail, deployments]);
    expect(lines[0]).toMatch(/MISSED by 20\.0 s \(40 % over\)$/);
    expect(lines[1]).toMatch(/: met$/);
  });

  it('reports a target as not measured when one side has no figure', () => {
    const checks = targetChecks([], go);
    expect(checks.every((c) => c.met === undefined)).toBe(true);
    expect(targetLines(checks)[0]).toMatch(/not measured$/);
  });
});

describe('clientRows', () => {
  it('lists the other clients of a phase by requests (medians), busiest first, cut at the limit', () => {
    const withClients = (r: RunResult, clients: Record<string, number>) =>
      ({
        ...r,
        update: {
          ...r.update,
          otherClients: Object.fromEntries(
            Object.entries(clients).map(([k, v]) => [k, { requests: v, perSecond: 0, peakPerSecond: 0 }]),
          ),
        },
      }) as RunResult;
    const o = [
      withClients(ours[0], { 'kcm/endpoint-controller': 50, 'kcm/replicaset-controller': 200 }),
      withClients(ours[1], { 'kcm/endpoint-controller': 70, 'kcm/replicaset-controller': 220 }),
    ];
    const g = [withClients(go[0], { 'kcm/replicaset-controller': 210, kwok: 50 })];
    expect(clientRows(o, g, 'update')).toEqual([
      { label: 'kcm/replicaset-controller', ours: '210', go: '210', ratio: '1.00' },
      { label: 'kcm/endpoint-controller', ours: '60', go: '0', ratio: '' },
      { label: 'kwok', ours: '0', go: '50', ratio: '0.00' },
    ]);
    expect(clientRows(o, g, 'update', 1).map((r) => r.label)).toEqual(['kcm/replicaset-controller']);
  });
});

describe('verbResourceRows and markdown', () => {
  it('lists every verb and resource either operator used, busiest first, 0 where one did not', () => {
    const rows = verbResourceRows(ours, go, 'create');
    expect(rows.map((r) => r.label)).toEqual([
      'patch memcacheds/status',
      'create deployments',
      'update memcacheds/status',
      'update memcacheds',
    ]);
    expect(rows.find((r) => r.label === 'update memcacheds')).toEqual({
      label: 'update memcacheds',
      ours: '0',
      go: '10',
      ratio: '0.00',
    });
    expect(rows.find((r) => r.label === 'patch memcacheds/status')).toMatchObject({ ours: '35', go: '0', ratio: '' });
  });

  it('renders a Markdown table with a header and one line per row', () => {
    const text = markdown('N = 10', [{ label: 'a', ours: '1', go: '2', ratio: '0.50' }]);
    expect(text.split('\n')).toEqual([
      '| N = 10 | ours | Go sample | ours/Go |',
      '|---|---|---|---|',
      '| a | 1 | 2 | 0.50 |',
    ]);
  });
});
