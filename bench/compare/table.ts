// The comparison's figures: medians over runs of each operator, side by side with ratios
// (ours / Go sample), the targets of issue 11 checked, and requests by verb and resource.
import { median, round } from '../lib/stats';
import type { PhaseResult, RunResult } from '../operator/types';

export interface Row {
  label: string;
  ours: string;
  go: string;
  /** ours / Go; empty when a figure is missing or Go's is 0 */
  ratio: string;
}

const med = (runs: readonly RunResult[], f: (r: RunResult) => number | undefined) => median(runs.map(f));
const sec = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

/** A figure with `digits` decimals, '–' when missing. */
export function fmt(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** ours / go with two decimals; '' when either is missing or go is 0. */
export function ratio(ours: number | undefined, go: number | undefined): string {
  if (ours === undefined || go === undefined || !Number.isFinite(ours) || !Number.isFinite(go) || go === 0) return '';
  return (ours / go).toFixed(2);
}

/** Status writes (update or patch of memcacheds/status) in a phase. */
export function statusWrites(p: PhaseResult): number {
  const by = p.operatorRequests.byVerbResource;
  return (by['update memcacheds/status'] ?? 0) + (by['patch memcacheds/status'] ?? 0);
}

type Metric = (r: RunResult) => number | undefined;

/** The medians of each operator's runs, in the rows of the table in ../shared/anchors/README.md and docs/benchmarks.md. */
export function comparisonRows(ours: readonly RunResult[], go: readonly RunResult[], idleS: number): Row[] {
  const rows: Row[] = [];
  const one = (label: string, f: Metric, digits = 1) => {
    const [a, b] = [med(ours, f), med(go, f)];
    rows.push({ label, ours: fmt(a, digits), go: fmt(b, digits), ratio: ratio(a, b) });
  };
  const pair = (label: string, f: Metric, g: Metric, digits = 1, withRatio = true) => {
    const [a1, b1, a2, b2] = [med(ours, f), med(go, f), med(ours, g), med(go, g)];
    rows.push({
      label,
      ours: `${fmt(a1, digits)} / ${fmt(a2, digits)}`,
      go: `${fmt(b1, digits)} / ${fmt(b2, digits)}`,
      ratio: withRatio ? `${ratio(a1, b1) || '–'} / ${ratio(a2, b2) || '–'}` : '',
    });
  };
  const perObject = (f: (p: PhaseResult) => number) => (phase: 'create' | 'update') => (r: RunResult) =>
    f(r[phase]) / r.n;
  const cpu = (phase: 'create' | 'update', c: string) => (r: RunResult) => r.cpuByComponent[phase].cpuS[c];

  one('create: every Deployment has its replicas (s)', (r) => sec(r.create.allDeploymentsMs));
  one('create: every Deployment Available, pods ready (s)', (r) => sec(r.create.allDeploymentsAvailableMs));
  one('create: every Memcached reports it (s)', (r) => sec(r.create.allStatusMs));
  one('resize: every Deployment Available (s)', (r) => sec(r.update.allDeploymentsAvailableMs));
  one('resize: every Memcached reports it (s)', (r) => sec(r.update.allStatusMs));
  const requests = perObject((p) => p.operatorRequests.total);
  pair('requests per object, create / resize', requests('create'), requests('update'), 2);
  const status = perObject(statusWrites);
  pair('status writes per object, create / resize', status('create'), status('update'), 2, false);
  one(`writes while idle for ${idleS} s (leases left out)`, (r) => r.idle.writesExcludingLease, 0);
  one('peak RSS (MiB)', (r) => r.operatorTotal.peakRssMiB, 0);
  one('operator CPU s, whole run', (r) => r.operatorTotal.cpuSeconds);
  pair(
    'kube-controller-manager CPU s, create / resize',
    cpu('create', 'kube-controller-manager'),
    cpu('update', 'kube-controller-manager'),
  );
  pair('kube-apiserver CPU s, create / resize', cpu('create', 'kube-apiserver'), cpu('update', 'kube-apiserver'));
  pair(
    'converged runs, create / resize',
    (r) => (r.create.converged ? 1 : 0),
    (r) => (r.update.converged ? 1 : 0),
    0,
    false,
  );
  return rows;
}

export interface TargetCheck {
  target: string;
  ours?: number;
  go?: number;
  /** ours / go */
  ratio?: number;
  limit: number;
  met?: boolean;
  /** when missed: seconds over what the target allows (ours − limit × go) */
  overS?: number;
}

/** Issue 11's targets: Available ≤ 1.0 × Go at create and ≤ 1.2 × at resize, every Deployment ≥ 3 × sooner at create. */
export function targetChecks(ours: readonly RunResult[], go: readonly RunResult[]): TargetCheck[] {
  const check = (target: string, f: Metric, limit: number): TargetCheck => {
    const [a, b] = [med(ours, f), med(go, f)];
    if (a === undefined || b === undefined || b === 0) return { target, ours: a, go: b, limit };
    const r = a / b;
    const met = r <= limit;
    return {
      target,
      ours: round(a, 1),
      go: round(b, 1),
      ratio: round(r, 2),
      limit,
      met,
      overS: met ? undefined : round(a - limit * b, 1),
    };
  };
  return [
    check('create: every Deployment Available ≤ 1.0 × Go', (r) => sec(r.create.allDeploymentsAvailableMs), 1.0),
    check('resize: every Deployment Available ≤ 1.2 × Go', (r) => sec(r.update.allDeploymentsAvailableMs), 1.2),
    check('create: every Deployment exists ≥ 3 × sooner than Go', (r) => sec(r.create.allDeploymentsMs), 1 / 3),
  ];
}

/** "verb resource" → [ours, go] requests per object (medians) in a phase, busiest first. */
export function verbResourceRows(
  ours: readonly RunResult[],
  go: readonly RunResult[],
  phase: 'create' | 'idle' | 'update',
): Row[] {
  const keys = new Set<string>();
  for (const r of [...ours, ...go]) for (const k of Object.keys(r[phase].operatorRequests.byVerbResource)) keys.add(k);
  const count = (runs: readonly RunResult[], k: string) =>
    med(runs, (r) => r[phase].operatorRequests.byVerbResource[k] ?? 0);
  return [...keys]
    .map((k) => ({ k, a: count(ours, k), b: count(go, k) }))
    .sort((x, y) => (y.a ?? 0) + (y.b ?? 0) - ((x.a ?? 0) + (x.b ?? 0)) || x.k.localeCompare(y.k))
    .map(({ k, a, b }) => ({ label: k, ours: fmt(a, 0), go: fmt(b, 0), ratio: ratio(a, b) }));
}

/** Requests of the other API clients (controllers, scheduler, kwok) in a phase, by client (medians), busiest first. */
export function clientRows(
  ours: readonly RunResult[],
  go: readonly RunResult[],
  phase: 'create' | 'update',
  limit = 8,
): Row[] {
  const keys = new Set<string>();
  for (const r of [...ours, ...go]) for (const k of Object.keys(r[phase].otherClients)) keys.add(k);
  const count = (runs: readonly RunResult[], k: string) => med(runs, (r) => r[phase].otherClients[k]?.requests ?? 0);
  return [...keys]
    .map((k) => ({ k, a: count(ours, k), b: count(go, k) }))
    .sort((x, y) => (y.a ?? 0) + (y.b ?? 0) - ((x.a ?? 0) + (x.b ?? 0)) || x.k.localeCompare(y.k))
    .slice(0, limit)
    .map(({ k, a, b }) => ({ label: k, ours: fmt(a, 0), go: fmt(b, 0), ratio: ratio(a, b) }));
}

/** A Markdown table of rows under `title` (first column `first`). */
export function markdown(first: string, rows: readonly Row[]): string {
  const lines = [`| ${first} | ours | Go sample | ours/Go |`, '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.label} | ${r.ours} | ${r.go} | ${r.ratio} |`);
  return lines.join('\n');
}

/** One line per target: met or missed, and by how much. */
export function targetLines(checks: readonly TargetCheck[]): string[] {
  return checks.map((c) => {
    if (c.met === undefined) return `- ${c.target}: not measured`;
    const head = `- ${c.target}: ours ${fmt(c.ours)} s, Go ${fmt(c.go)} s, ratio ${fmt(c.ratio, 2)} (target ≤ ${fmt(c.limit, 2)})`;
    return c.met
      ? `${head}: met`
      : `${head}: MISSED by ${fmt(c.overS)} s (${fmt(((c.ratio! - c.limit) / c.limit) * 100, 0)} % over)`;
  });
}
