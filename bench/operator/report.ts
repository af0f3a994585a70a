// Turning a run into figures (the audit log attributes requests to the operator and to
// phases), and the summaries: medians per configuration, printed tables, the JSON file.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { clientRates, inWindow, readAudit, summarize, WRITE_VERBS, type AuditRecord } from '../lib/audit';
import { latencyStats, median, round, slope, type ProcSample } from '../lib/stats';
import { EXCLUSIVE, exclusiveCounts, metricsDelta, roundStats } from './metrics';
import { ADMIN_USER, OP_USER, type Options } from './options';
import type { PhaseFigures, Snapshot } from './phases';
import type { CpuShare, CrState, IdleResult, PhaseResult, RunResult } from './types';

/** What the phases of one run produced, for attribution. */
export interface RunRecord {
  opts: Options;
  /** the operator under test and the audit user its requests come from */
  operator: string;
  user: string;
  n: number;
  workers: number;
  run: number;
  nodes: number;
  loadStart: number;
  controlPlaneStartMs: number;
  operatorStartMs: number;
  /** Date.now() when the operator was started */
  operatorStartedWall: number;
  auditLog: string;
  limits: RunResult['limits'];
  /** boundaries: before create, after create, after idle, after update */
  snaps: [Snapshot, Snapshot, Snapshot, Snapshot];
  apiBefore: Map<string, number>;
  createFig: PhaseFigures;
  updateFig: PhaseFigures;
  idleSamples: { t: number; p: ProcSample }[];
  singles: CrState[];
  /** wall clock around the single phase */
  singleWindow: [number, number];
}

/** Per CR, from the audit log: the admin's CR create/patch done → the operator's Deployment create/patch (or update) done. */
function serverLatency(
  records: AuditRecord[],
  opRecords: AuditRecord[],
  verb: string,
  from: number,
  to: number,
  opVerbs: readonly string[] = [verb],
) {
  const crDone = new Map<string, number>();
  for (const r of inWindow(records, from, to))
    if (r.user === ADMIN_USER && r.verb === verb && r.resource === 'memcacheds' && r.name) crDone.set(r.name, r.at);
  const out: number[] = [];
  const seen = new Set<string>();
  for (const r of inWindow(opRecords, from, to)) {
    if (!opVerbs.includes(r.verb) || r.resource !== 'deployments' || !r.name || seen.has(r.name) || r.code >= 300)
      continue;
    const c = crDone.get(r.name);
    if (c === undefined || r.at < c) continue;
    seen.add(r.name);
    out.push(r.at - c);
  }
  return roundStats(latencyStats(out));
}

const cpuShare = (a: Snapshot, b: Snapshot): CpuShare => ({
  wallS: round((b.wall - a.wall) / 1000, 1)!,
  cpuS: Object.fromEntries(Object.keys(b.cpu).map((k) => [k, round(b.cpu[k] - a.cpu[k], 2)!])),
});
const cpuDelta = (a?: ProcSample, b?: ProcSample) => (a && b ? round(b.cpuSeconds - a.cpuSeconds, 2) : undefined);

/** The create or update phase between snapshots `a` and `b`. */
function phaseResult(
  fig: PhaseFigures,
  verb: string,
  records: AuditRecord[],
  opRecords: AuditRecord[],
  user: string,
  a: Snapshot,
  b: Snapshot,
): PhaseResult {
  return {
    ...fig,
    // a resize reaches the Deployment as a patch (ours: server-side apply) or an update (the Go sample: PUT)
    latencyServerMs: serverLatency(
      records,
      opRecords,
      verb,
      a.wall,
      b.wall,
      verb === 'patch' ? ['patch', 'update'] : [verb],
    ),
    operatorRequests: summarize(inWindow(opRecords, a.wall, b.wall)),
    otherClients: clientRates(records, a.wall, b.wall, user),
    cpuSeconds: cpuDelta(a.proc, b.proc),
    rssEndMiB: round(b.proc?.rssMiB),
    peakRssMiB: round(b.proc?.hwmMiB),
    operatorMetrics: metricsDelta(a.opm, b.opm),
  };
}

function idleResult(
  opRecords: AuditRecord[],
  a: Snapshot,
  b: Snapshot,
  samples: { t: number; p: ProcSample }[],
): IdleResult {
  const ops = inWindow(opRecords, a.wall, b.wall);
  const writes = ops.filter((r) => WRITE_VERBS.has(r.verb));
  const leaseWrites = writes.filter((r) => r.resource === 'leases').length;
  return {
    seconds: round((b.wall - a.wall) / 1000, 1)!,
    operatorRequests: summarize(ops),
    writes: writes.length,
    leaseWrites,
    writesExcludingLease: writes.length - leaseWrites,
    cpuSeconds: cpuDelta(a.proc, b.proc),
    rssStartMiB: round(samples[0]?.p.rssMiB),
    rssEndMiB: round(samples.at(-1)?.p.rssMiB),
    rssSlopeMiBPerMin: round(
      slope(
        samples.map((s) => s.t / 60_000),
        samples.map((s) => s.p.rssMiB),
      ),
      2,
    ),
    heapUsedStartMiB: round((a.opm?.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20),
    heapUsedEndMiB: round((b.opm?.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20),
    operatorMetrics: metricsDelta(a.opm, b.opm),
  };
}

/** The run's result: the phases' figures plus what the audit log attributes to the operator. */
export async function runResult(r: RunRecord): Promise<RunResult> {
  const { opts } = r;
  if (opts.keepAudit) {
    mkdirSync(opts.keepAudit, { recursive: true });
    copyFileSync(r.auditLog, join(opts.keepAudit, `audit-n${r.n}-w${r.workers}-r${r.run}.log`));
  }
  const records = await readAudit(r.auditLog);
  const opRecords = records.filter((x) => x.user === r.user);
  const [s0, s1, s2, s3] = r.snaps;
  const before = exclusiveCounts(r.apiBefore);
  const after = exclusiveCounts(s3.api);
  const fromStart = inWindow(opRecords, 0, s3.wall + 1);
  const auditCounts = summarize(inWindow(opRecords, s0.wall, s3.wall)).byVerbResource;
  return {
    operator: r.operator,
    n: r.n,
    workers: r.workers,
    run: r.run,
    tier: opts.tier,
    nodes: r.nodes,
    loadavg: { start: r.loadStart, end: round(loadavg()[0], 2)! },
    controlPlaneStartMs: r.controlPlaneStartMs,
    operatorStartMs: round(r.operatorStartMs, 0)!,
    create: phaseResult(r.createFig, 'create', records, opRecords, r.user, s0, s1),
    idle: idleResult(opRecords, s1, s2, r.idleSamples),
    update: phaseResult(r.updateFig, 'patch', records, opRecords, r.user, s2, s3),
    operatorTotal: {
      requests: summarize(fromStart.filter((x) => x.at >= r.operatorStartedWall)),
      cpuSeconds: round(s3.proc?.cpuSeconds, 2),
      peakRssMiB: round(s3.proc?.hwmMiB),
    },
    limits: r.limits,
    single: opts.single
      ? {
          count: r.singles.length,
          latencyClientMs: roundStats(
            latencyStats(r.singles.filter((s) => s.deploymentAt !== undefined).map((s) => s.deploymentAt! - s.sentAt!)),
          ),
          latencyServerMs: serverLatency(records, opRecords, 'create', r.singleWindow[0], r.singleWindow[1]),
          requestMs: roundStats(latencyStats(r.singles.map((s) => s.respondedAt! - s.sentAt!))),
        }
      : undefined,
    cpuByComponent: { create: cpuShare(s0, s1), idle: cpuShare(s1, s2), update: cpuShare(s2, s3) },
    metricCrossCheck: EXCLUSIVE.map((e, i) => ({
      series: `${e.metric[0]} ${e.metric[1]}${e.metric[2] ? '/' + e.metric[2] : ''}`,
      metric: after[i] - before[i],
      audit: auditCounts[e.audit] ?? 0,
    })),
  };
}

export type Summary = Record<string, number | string | undefined>;

export function summarizeConfig(runs: RunResult[]): Summary {
  const m = (f: (r: RunResult) => number | undefined, digits = 1) => round(median(runs.map(f)), digits);
  const sec = (f: (r: RunResult) => number | undefined) => round((median(runs.map(f)) ?? NaN) / 1000, 2);
  const ops = (p: PhaseResult) => p.operatorRequests;
  return {
    n: runs[0].n,
    workers: runs[0].workers,
    runs: runs.length,
    converged: `${runs.filter((r) => r.create.converged && r.update.converged).length}/${runs.length}`,
    createAllDeploymentsS: sec((r) => r.create.allDeploymentsMs),
    createAllAvailableS: sec((r) => r.create.allDeploymentsAvailableMs),
    createAllStatusS: sec((r) => r.create.allStatusMs),
    createP50Ms: m((r) => r.create.latencyClientMs.p50),
    createP99Ms: m((r) => r.create.latencyClientMs.p99),
    createMaxMs: m((r) => r.create.latencyClientMs.max),
    createServerP50Ms: m((r) => r.create.latencyServerMs.p50),
    createServerP99Ms: m((r) => r.create.latencyServerMs.p99),
    createServerMaxMs: m((r) => r.create.latencyServerMs.max),
    crCreateRequestP50Ms: m((r) => r.create.requestMs.p50),
    crCreateRequestP99Ms: m((r) => r.create.requestMs.p99),
    createOpRequests: m((r) => ops(r.create).total, 0),
    createOpWrites: m((r) => ops(r.create).writes, 0),
    createOpRequestsPerCr: m((r) => ops(r.create).total / r.n, 2),
    createOpCpuS: m((r) => r.create.cpuSeconds, 2),
    updateAllDeploymentsS: sec((r) => r.update.allDeploymentsMs),
    updateAllAvailableS: sec((r) => r.update.allDeploymentsAvailableMs),
    updateAllStatusS: sec((r) => r.update.allStatusMs),
    updateP50Ms: m((r) => r.update.latencyClientMs.p50),
    updateP99Ms: m((r) => r.update.latencyClientMs.p99),
    updateMaxMs: m((r) => r.update.latencyClientMs.max),
    updateServerP50Ms: m((r) => r.update.latencyServerMs.p50),
    updateServerP99Ms: m((r) => r.update.latencyServerMs.p99),
    updateOpRequests: m((r) => ops(r.update).total, 0),
    updateOpWrites: m((r) => ops(r.update).writes, 0),
    updateOpCpuS: m((r) => r.update.cpuSeconds, 2),
    singleP50Ms: m((r) => r.single?.latencyClientMs.p50),
    singleP99Ms: m((r) => r.single?.latencyClientMs.p99),
    singleMaxMs: m((r) => r.single?.latencyClientMs.max),
    singleServerP50Ms: m((r) => r.single?.latencyServerMs.p50),
    singleServerMaxMs: m((r) => r.single?.latencyServerMs.max),
    idleWrites: m((r) => r.idle.writes, 0),
    idleWritesExclLease: m((r) => r.idle.writesExcludingLease, 0),
    idleRequests: m((r) => r.idle.operatorRequests.total, 0),
    idleCpuS: m((r) => r.idle.cpuSeconds, 2),
    idleRssSlopeMiBPerMin: m((r) => r.idle.rssSlopeMiBPerMin, 2),
    peakRssMiB: m((r) => r.operatorTotal.peakRssMiB, 0),
    limits: runs[0].limits.cgroup ? `${runs[0].limits.cpu}/${runs[0].limits.memory}` : 'none',
    cgroupPeakMemoryMiB: m((r) => r.limits.stats?.peakMemoryMiB, 0),
    oomKills: m((r) => r.limits.stats?.oomKills, 0),
    cpuThrottledS: m((r) => r.limits.stats?.throttledS, 1),
    totalCpuS: m((r) => r.operatorTotal.cpuSeconds, 2),
  };
}

export function printTables(opts: Options, summaries: Summary[], runs: RunResult[]): void {
  const f = (v: unknown) => (v === undefined ? '–' : String(v));
  const table = (title: string, cols: [string, string][]) => {
    console.log(`\n${title}`);
    console.log(`| ${cols.map((c) => c[0]).join(' | ')} |`);
    console.log(`| ${cols.map(() => '---').join(' | ')} |`);
    for (const s of summaries) console.log(`| ${cols.map((c) => f(s[c[1]])).join(' | ')} |`);
  };
  table(
    'create N at once (medians over runs; latencies per CR: client = request sent → Deployment on our watch, server = audit CR created → Deployment created)',
    [
      ['N', 'n'],
      ['workers', 'workers'],
      ['runs', 'runs'],
      ['converged', 'converged'],
      ['all Deployments s', 'createAllDeploymentsS'],
      ['all Available s', 'createAllAvailableS'],
      ['all CR status s', 'createAllStatusS'],
      ['p50 ms', 'createP50Ms'],
      ['p99 ms', 'createP99Ms'],
      ['max ms', 'createMaxMs'],
      ['server p50/p99 ms', '_sc'],
      ['CR POST p50/p99 ms', '_cr'],
      ['op requests', 'createOpRequests'],
      ['op writes', 'createOpWrites'],
      ['op CPU s', 'createOpCpuS'],
    ].map((c) => c as [string, string]),
  );
  table('change every size (medians)', [
    ['N', 'n'],
    ['workers', 'workers'],
    ['all Deployments s', 'updateAllDeploymentsS'],
    ['all Available s', 'updateAllAvailableS'],
    ['all CR status s', 'updateAllStatusS'],
    ['p50 ms', 'updateP50Ms'],
    ['p99 ms', 'updateP99Ms'],
    ['max ms', 'updateMaxMs'],
    ['server p50/p99 ms', '_su'],
    ['op requests', 'updateOpRequests'],
    ['op writes', 'updateOpWrites'],
    ['op CPU s', 'updateOpCpuS'],
  ]);
  table(`one CR at a time on a quiet system, ${opts.single} CRs (medians)`, [
    ['N', 'n'],
    ['workers', 'workers'],
    ['p50 ms', 'singleP50Ms'],
    ['p99 ms', 'singleP99Ms'],
    ['max ms', 'singleMaxMs'],
    ['server p50 ms', 'singleServerP50Ms'],
    ['server max ms', 'singleServerMaxMs'],
  ]);
  table(`idle ${opts.idleS} s and process (medians)`, [
    ['N', 'n'],
    ['workers', 'workers'],
    ['idle writes', 'idleWrites'],
    ['idle writes excl. lease', 'idleWritesExclLease'],
    ['idle requests', 'idleRequests'],
    ['idle CPU s', 'idleCpuS'],
    ['idle RSS slope MiB/min', 'idleRssSlopeMiBPerMin'],
    ['peak RSS MiB', 'peakRssMiB'],
    ['CPU s total', 'totalCpuS'],
    ['limits cpu/memory', 'limits'],
    ['cgroup peak MiB', 'cgroupPeakMemoryMiB'],
    ['OOM kills', 'oomKills'],
    ['CPU throttled s', 'cpuThrottledS'],
  ]);
  // where the CPU went
  const comps = [...new Set(runs.flatMap((r) => Object.keys(r.cpuByComponent.create.cpuS)))];
  for (const phase of ['create', 'update'] as const) {
    console.log(`\nCPU seconds by process in the ${phase} phase (medians; the machine has ${cpus().length} cores)`);
    console.log(`| N | workers | phase s | ${comps.join(' | ')} |`);
    console.log(`| --- | --- | --- | ${comps.map(() => '---').join(' | ')} |`);
    for (const sm of summaries) {
      const rs = runs.filter((r) => r.n === sm.n && r.workers === sm.workers);
      const cell = (c: string) => f(round(median(rs.map((r) => r.cpuByComponent[phase].cpuS[c])), 1));
      console.log(
        `| ${sm.n} | ${sm.workers} | ${f(round(median(rs.map((r) => r.cpuByComponent[phase].wallS)), 1))} | ${comps.map(cell).join(' | ')} |`,
      );
    }
  }
  // the other clients of the apiserver (the controllers that turn Deployments into Available pods)
  console.log(
    '\nother API clients in the create phase (audit log; first run of each configuration): requests, mean/s, busiest second',
  );
  console.log('| N | workers | clients |');
  console.log('| --- | --- | --- |');
  const firsts = new Set<string>();
  for (const r of runs) {
    if (firsts.has(`${r.n}/${r.workers}`)) continue;
    firsts.add(`${r.n}/${r.workers}`);
    const top = Object.entries(r.create.otherClients)
      .slice(0, 6)
      .map(([c, v]) => `${c} ${v.requests} (${v.perSecond}/s, peak ${v.peakPerSecond})`);
    console.log(`| ${r.n} | ${r.workers} | ${top.join('; ')} |`);
  }
  // operator requests by verb, per phase, of the first run of each configuration
  console.log('\noperator requests by verb (audit log, user ' + OP_USER + '; first run of each configuration)');
  console.log('| N | workers | phase | requests | by verb | by verb and resource |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const seen = new Set<string>();
  for (const r of runs) {
    const key = `${r.n}/${r.workers}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const [name, s] of [
      ['create', r.create.operatorRequests],
      ['idle', r.idle.operatorRequests],
      ['update', r.update.operatorRequests],
    ] as const) {
      const fmt = (o: Record<string, number>) =>
        Object.entries(o)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
      console.log(`| ${r.n} | ${r.workers} | ${name} | ${s.total} | ${fmt(s.byVerb)} | ${fmt(s.byVerbResource)} |`);
    }
  }
}

const f0 = (v: unknown) => (typeof v === 'number' ? v.toFixed(0) : '–');

/** Where and how the benchmark ran, recorded with the results. */
export interface Provenance {
  commit: string;
  /** `git status --porcelain` of the measured code (empty when clean) */
  dirty: string;
  command: string;
  machine: Record<string, unknown>;
}

/** Summarizes per configuration and writes the JSON (after every run, so a crash keeps what was measured); `final` also prints the tables. */
export function writeResults(
  opts: Options,
  about: Provenance,
  runs: RunResult[],
  errors: { n: number; workers: number; run: number; error: string }[],
  final: boolean,
): void {
  const summaries: Summary[] = [];
  for (const n of opts.ns) {
    for (const workers of opts.workers) {
      const rs = runs.filter((r) => r.n === n && r.workers === workers);
      if (!rs.length) continue;
      const s = summarizeConfig(rs);
      s._sc = `${f0(s.createServerP50Ms)}/${f0(s.createServerP99Ms)}`;
      s._cr = `${f0(s.crCreateRequestP50Ms)}/${f0(s.crCreateRequestP99Ms)}`;
      s._su = `${f0(s.updateServerP50Ms)}/${f0(s.updateServerP99Ms)}`;
      summaries.push(s);
    }
  }
  const clean = summaries.map((s) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('_'))));
  mkdirSync(dirname(opts.out), { recursive: true });
  const { help: _help, keepGoing: _keepGoing, ...options } = opts;
  writeFileSync(
    opts.out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        commit: about.commit,
        uncommittedChanges: about.dirty ? about.dirty.split('\n') : [],
        command: about.command,
        machine: about.machine,
        options: { ...options, out: undefined },
        summary: clean,
        runs,
        errors,
      },
      null,
      2,
    ) + '\n',
  );
  if (final) {
    const m = about.machine;
    console.log(
      `operator benchmark: tier ${opts.tier}, sizes ${opts.minSize}..${opts.maxSize}, ${opts.namespaces} namespace(s), idle ${opts.idleS} s, ${m.cores} cores, Node ${m.node}, commit ${about.commit}${about.dirty ? '+dirty' : ''}`,
    );
    printTables(opts, summaries, runs);
    for (const e of errors)
      console.log(`\nrun N=${e.n} workers=${e.workers} #${e.run} failed: ${e.error.split('\n')[0]}`);
  }
}
