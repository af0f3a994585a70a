// Operator benchmark: the Memcached operator (exactly the synthesized command, under its own
// ServiceAccount and RBAC from dist/) against a dedicated test control plane per run.
//
//   node scripts/run-ts.mjs bench/operator.ts [--n 100,1000] [--workers 4,16] [--runs 2]
//        [--tier workload|api] [--idle 60] [--concurrency 50] [--nodes auto] [--timeout 900]
//        [--sync-period 10h] [--watch-namespace] [--no-leader-elect] [--control-plane-qps 300]
//        [--node-options="--max-old-space-size=128"] [--no-limits] [--cpu-prof DIR] [--keep-audit DIR]
//        [--out bench/results/operator.json]
//
// Each run: start a control plane with kube-apiserver audit logging (every request, Metadata
// level), install Namespace/CRD/RBAC with kubectl, start the operator, then
//   1. create N Memcached objects at once (sizes 1..3 round-robin) and wait until every
//      Deployment exists with the right replicas and is Available, and every Memcached reports
//      Available (api tier: until every Deployment exists and every status is written);
//   2. let it sit for --idle seconds with nothing changing;
//   3. change every size (1→2, 2→3, 3→1) and wait for the same again.
// The operator runs under the CPU and memory limits of the synthesized Deployment (a cgroup of
// its own, as a container runtime would set up; --no-limits runs it unconstrained).
// The operator's requests come from the audit log (user = its ServiceAccount), cross-checked
// with kube-apiserver's apiserver_request_total for series only the operator writes.
// Prints tables (medians over runs) and writes every figure to the JSON file.
// Benchmarks print figures; nothing here fails on speed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { findBinaries, startControlPlane, type ControlPlane } from '../cluster/controlplane';
import { installOperatorPrerequisites } from '../cluster/operator-manifests';
import { startOperator, synthesizedOperator, type OperatorProcess } from '../cluster/operator-process';
import { createLimitGroup, parseLimits, type LimitGroup, type LimitStats } from './lib/cgroup';
import { auditArgs, clientRates, inWindow, readAudit, summarize, WRITE_VERBS, type RequestSummary } from './lib/audit';
import { RawClient, type Watcher } from './lib/kube';
import { labelsOf, latencyStats, median, parsePrometheus, procSample, round, slope, type ProcSample } from './lib/stats';

const GROUP = 'cache.example.com';
const VERSION = 'v1alpha1';
const OP_NS = 'memcached-operator-system';
const OP_SA = 'memcached-operator';
const OP_USER = `system:serviceaccount:${OP_NS}:${OP_SA}`;
const ADMIN_USER = 'kubernetes-admin';
const NS = 'bench';
const CR_PATH = `/apis/${GROUP}/${VERSION}/namespaces/${NS}/memcacheds`;
const DEPLOY_PATH = `/apis/apps/v1/namespaces/${NS}/deployments`;

// ---------------------------------------------------------------------------------------
// options

const { values: argv } = parseArgs({
  options: {
    n: { type: 'string', default: '100,1000' },
    workers: { type: 'string', default: '4,16' },
    runs: { type: 'string', default: '2' },
    tier: { type: 'string', default: 'workload' },
    idle: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '50' },
    nodes: { type: 'string', default: 'auto' },
    timeout: { type: 'string', default: '900' },
    'min-size': { type: 'string', default: '1' },
    'max-size': { type: 'string', default: '3' },
    'sync-period': { type: 'string' },
    'control-plane-qps': { type: 'string', default: '300' },
    'node-options': { type: 'string' },
    limits: { type: 'boolean', default: true },
    'watch-namespace': { type: 'boolean', default: false },
    'leader-elect': { type: 'boolean', default: true },
    out: { type: 'string', default: 'bench/results/operator.json' },
    'keep-going': { type: 'boolean', default: true },
    'cpu-prof': { type: 'string' },
    single: { type: 'string', default: '20' },
    'keep-audit': { type: 'string' },
  },
  allowNegative: true,
  strict: true,
});

const list = (s: string) => s.split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0);
const opts = {
  ns: list(argv.n!),
  workers: list(argv.workers!),
  runs: Math.max(1, Number(argv.runs)),
  tier: argv.tier === 'api' ? ('api' as const) : ('workload' as const),
  idleS: Math.max(0, Number(argv.idle)),
  concurrency: Math.max(1, Number(argv.concurrency)),
  nodes: argv.nodes === 'auto' ? undefined : Number(argv.nodes),
  timeoutS: Math.max(10, Number(argv.timeout)),
  minSize: Number(argv['min-size']),
  maxSize: Number(argv['max-size']),
  syncPeriod: argv['sync-period'],
  /**
   * client QPS of kube-controller-manager and kube-scheduler (burst = 2 × QPS; default 300); 0 keeps their
   * defaults (20 and 50). At N = 1000 the stock controller-manager needs minutes to create the
   * pods, whatever the operator does.
   */
  controlPlaneQps: Math.max(0, Number(argv['control-plane-qps'])),
  /** NODE_OPTIONS for the operator process; pass as --node-options="--max-old-space-size=128" */
  nodeOptions: argv['node-options'],
  /** run the operator under the Deployment's resources.limits (cgroup), as in a pod */
  limits: argv.limits!,
  watchNamespace: argv['watch-namespace']!,
  leaderElect: argv['leader-elect']!,
  out: resolve(argv.out!),
  /** CRs created one at a time after the update phase (reaction latency without a queue) */
  single: Math.max(0, Number(argv.single)),
  /** write a V8 CPU profile of the operator into this directory (node --cpu-prof) */
  cpuProf: argv['cpu-prof'] ? resolve(argv['cpu-prof']) : undefined,
  /** copy each run's audit log into this directory */
  keepAudit: argv['keep-audit'] ? resolve(argv['keep-audit']) : undefined,
};
if (argv.tier !== 'api' && argv.tier !== 'workload') throw new Error('--tier must be api or workload');
if (!opts.ns.length || !opts.workers.length) throw new Error('--n and --workers need positive integers');
if (!(opts.minSize >= 0 && opts.maxSize >= opts.minSize && opts.maxSize <= 5)) throw new Error('sizes must satisfy 0 <= min <= max <= 5');

/** NODE_OPTIONS of the operator: --node-options plus the CPU profile flags. */
function nodeOptions(n: number, workers: number, run: number): Record<string, string> | undefined {
  const parts = [opts.nodeOptions ?? ''];
  if (opts.cpuProf) parts.push(`--cpu-prof --cpu-prof-dir=${opts.cpuProf} --cpu-prof-name=operator-n${n}-w${workers}-r${run}.cpuprofile`);
  const value = parts.join(' ').trim();
  return value ? { NODE_OPTIONS: value } : undefined;
}

const sizeFor = (i: number) => opts.minSize + (i % (opts.maxSize - opts.minSize + 1));
const nextSize = (s: number) => (s >= opts.maxSize ? opts.minSize : s + 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => process.stderr.write(`[bench:operator ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

// ---------------------------------------------------------------------------------------
// one run

interface CrState {
  size: number;
  sentAt?: number;
  respondedAt?: number;
  /** first watch event of its Deployment (create phase) / of its Deployment with the new replicas (update phase) */
  deploymentAt?: number;
  deploymentReady: boolean;
  deploymentReadyAt?: number;
  crReady: boolean;
  crReadyAt?: number;
}

interface PhaseResult {
  converged: boolean;
  /** CRs that reached every criterion (equals N when converged) */
  convergedCount: number;
  /** from the first request sent: all creates/patches answered */
  allSentMs?: number;
  /** every Deployment exists (update: has the new replicas) */
  allDeploymentsMs?: number;
  /** every Deployment has the right replicas and is Available (workload tier) */
  allDeploymentsAvailableMs?: number;
  /** every Memcached reports the new generation (workload: Available with all pods ready) */
  allStatusMs?: number;
  /** per CR: request sent → its Deployment (with the right replicas) seen on our watch */
  latencyClientMs: ReturnType<typeof latencyStats>;
  /** per CR, from the audit log: the CR create/patch done → the operator's Deployment create/apply done */
  latencyServerMs: ReturnType<typeof latencyStats>;
  /** round trip of the benchmark's own create/patch requests (the API's baseline) */
  requestMs: ReturnType<typeof latencyStats>;
  operatorRequests: RequestSummary;
  /** requests of every other client in the same window (kube-controller-manager by controller): total, per second, busiest second */
  otherClients: ReturnType<typeof clientRates>;
  cpuSeconds?: number;
  rssEndMiB?: number;
  peakRssMiB?: number;
  operatorMetrics: OperatorMetricsDelta;
}

interface SingleResult {
  count: number;
  /** request sent → Deployment on our watch, one CR at a time on a quiet system */
  latencyClientMs: ReturnType<typeof latencyStats>;
  latencyServerMs: ReturnType<typeof latencyStats>;
  requestMs: ReturnType<typeof latencyStats>;
}

/** CPU seconds per process of the machine's benchmark set-up in a phase, and the phase's wall time. */
interface CpuShare {
  wallS: number;
  cpuS: Record<string, number>;
}

interface IdleResult {
  seconds: number;
  operatorRequests: RequestSummary;
  writes: number;
  leaseWrites: number;
  writesExcludingLease: number;
  cpuSeconds?: number;
  rssStartMiB?: number;
  rssEndMiB?: number;
  rssSlopeMiBPerMin?: number;
  heapUsedStartMiB?: number;
  heapUsedEndMiB?: number;
  operatorMetrics: OperatorMetricsDelta;
}

interface OperatorMetricsDelta {
  reconciles: Record<string, number>;
  meanReconcileMs?: number;
  meanQueueWaitMs?: number;
  queueAdds?: number;
  watchRestarts?: number;
  /** by "resource reason" (closed: the server ended the watch; timeout: its timeoutSeconds ran out) */
  watchRestartsByReason?: Record<string, number>;
  /** watch events the operator's informers received, by resource (what triggers reconciles) */
  watchEvents?: Record<string, number>;
}

interface RunResult {
  n: number;
  workers: number;
  run: number;
  tier: 'api' | 'workload';
  nodes: number;
  /** 1-minute load average when the run started and ended (the machine is shared) */
  loadavg: { start: number; end: number };
  controlPlaneStartMs: number;
  operatorStartMs: number;
  create: PhaseResult;
  idle: IdleResult;
  update: PhaseResult;
  single?: SingleResult;
  /** CPU seconds by component in each phase (where the machine's two cores went) */
  cpuByComponent: { create: CpuShare; idle: CpuShare; update: CpuShare };
  operatorTotal: { requests: RequestSummary; cpuSeconds?: number; peakRssMiB?: number };
  /** the limits the operator ran under (the Deployment's), and what the cgroup saw */
  limits: { cpu?: string; memory?: string; cgroup?: 'v1' | 'v2'; error?: string; stats?: LimitStats };
  /** apiserver_request_total deltas over the run for series only the operator produces, next to the audit count */
  metricCrossCheck: { series: string; metric: number; audit: number }[];
  error?: string;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolveText, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolveText(body));
    });
    req.on('timeout', () => req.destroy(new Error('metrics scrape timed out')));
    req.on('error', reject);
  });
  return parsePrometheus(text, [
    'controller_runtime_reconcile_total',
    'controller_runtime_reconcile_time_seconds_sum',
    'controller_runtime_reconcile_time_seconds_count',
    'workqueue_queue_duration_seconds_sum',
    'workqueue_queue_duration_seconds_count',
    'workqueue_adds_total',
    'informer_watch_restarts_total',
    'informer_watch_events_total',
    'nodejs_heap_size_used_bytes',
    'process_resident_memory_bytes',
  ]);
}

function metricsDelta(a: Map<string, number> | undefined, b: Map<string, number> | undefined): OperatorMetricsDelta {
  if (!a || !b) return { reconciles: {} };
  const sum = (m: Map<string, number>, name: string) => [...m].filter(([k]) => k.startsWith(name)).reduce((s, [, v]) => s + v, 0);
  const d = (name: string) => sum(b, name) - sum(a, name);
  /** Non-zero increases of one counter's series, keyed by the given labels joined with spaces. */
  const byLabels = (metric: string, labels: string[]) => {
    const out: Record<string, number> = {};
    for (const [k, v] of b) {
      if (!k.startsWith(metric)) continue;
      const diff = v - (a.get(k) ?? 0);
      const l = labelsOf(k);
      if (diff) out[labels.map((n) => l[n]).join(' ')] = diff;
    }
    return out;
  };
  const reconciles = byLabels('controller_runtime_reconcile_total', ['result']);
  const watchEvents = byLabels('informer_watch_events_total', ['resource', 'type']);
  const watchRestartsByReason = byLabels('informer_watch_restarts_total', ['resource', 'reason']);
  const rc = d('controller_runtime_reconcile_time_seconds_count');
  const qc = d('workqueue_queue_duration_seconds_count');
  return {
    reconciles,
    meanReconcileMs: rc ? round((d('controller_runtime_reconcile_time_seconds_sum') / rc) * 1000, 2) : undefined,
    meanQueueWaitMs: qc ? round((d('workqueue_queue_duration_seconds_sum') / qc) * 1000, 2) : undefined,
    queueAdds: d('workqueue_adds_total'),
    watchRestarts: d('informer_watch_restarts_total'),
    watchRestartsByReason,
    watchEvents,
  };
}

const API_SERIES = ['apiserver_request_total'];
/** Series only the operator writes (metric verb/resource/subresource ↔ audit verb resource). */
const EXCLUSIVE: { metric: [string, string, string]; audit: string }[] = [
  { metric: ['POST', 'deployments', ''], audit: 'create deployments' },
  { metric: ['APPLY', 'deployments', ''], audit: 'patch deployments' },
  { metric: ['POST', 'services', ''], audit: 'create services' },
  { metric: ['APPLY', 'services', ''], audit: 'patch services' },
  { metric: ['PATCH', 'memcacheds', 'status'], audit: 'patch memcacheds/status' },
];

function exclusiveCounts(m: Map<string, number>): number[] {
  const out = EXCLUSIVE.map(() => 0);
  for (const [k, v] of m) {
    const l = labelsOf(k);
    EXCLUSIVE.forEach((e, i) => {
      if (l.verb === e.metric[0] && l.resource === e.metric[1] && (l.subresource ?? '') === e.metric[2]) out[i] += v;
    });
  }
  return out;
}

async function runOnce(n: number, workers: number, run: number): Promise<RunResult> {
  const work = mkdtempSync(join(tmpdir(), 'bench-operator-'));
  const loadStart = round(loadavg()[0], 2)!;
  const audit = auditArgs(work);
  const nodes = opts.tier === 'api' ? 0 : (opts.nodes ?? Math.max(1, Math.ceil((n * Math.max(1, opts.maxSize)) / 100)));
  let cp: ControlPlane | undefined;
  let op: OperatorProcess | undefined;
  let group: LimitGroup | undefined;
  let client: RawClient | undefined;
  const watchers: Watcher[] = [];
  // on exit or a signal (see main) the operator dies with us and the audit dir goes
  const killOp = () => {
    if (op?.proc.exitCode === null) op.proc.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', killOp);
  try {
    log(`run ${run}: N=${n} workers=${workers} tier=${opts.tier} nodes=${nodes}: starting control plane`);
    cp = await startControlPlane({
      tier: opts.tier,
      nodes: Math.max(1, nodes),
      // The harness's service range is a /24 (about 250 ClusterIPs). The operand Services are
      // headless, but a wider range keeps the benchmark valid for ClusterIP experiments.
      apiserverArgs: [...audit.args, '--service-cluster-ip-range=10.0.0.0/16'],
      ...(opts.controlPlaneQps > 0
        ? {
            controllerManagerArgs: [`--kube-api-qps=${opts.controlPlaneQps}`, `--kube-api-burst=${2 * opts.controlPlaneQps}`],
            schedulerArgs: [`--kube-api-qps=${opts.controlPlaneQps}`, `--kube-api-burst=${2 * opts.controlPlaneQps}`],
          }
        : {}),
      timeoutMs: 180_000,
    });
    const controlPlaneStartMs = cp.timings.total;
    await installOperatorPrerequisites(cp.kubeconfigPath);
    client = new RawClient(cp.server, cp.pki, opts.concurrency);
    await client.json('POST', '/api/v1/namespaces', {
      metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
    });
    if (opts.tier === 'workload') {
      // pods need the namespace's default ServiceAccount (the serviceaccount controller makes it)
      const deadline = Date.now() + 60_000;
      while ((await client.request('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`)).status !== 200) {
        if (Date.now() > deadline) throw new Error(`ServiceAccount ${NS}/default not created within 60 s`);
        await sleep(100);
      }
    }
    const sa = await cp.serviceAccountKubeconfig(OP_NS, OP_SA, { create: false, expirationSeconds: 4 * 3600 });

    // our own view: per CR, when its Deployment appeared / became ready, when its status did
    const crs = new Map<string, CrState>();
    let lastEventAt = performance.now();
    let phase: 'create' | 'update' | 'single' = 'create';
    const deploymentReady = (d: any, size: number) => {
      const s = d.status ?? {};
      return (
        d.spec?.replicas === size &&
        (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
        (s.replicas ?? 0) === size &&
        (s.updatedReplicas ?? 0) === size &&
        (s.readyReplicas ?? 0) === size &&
        (s.availableReplicas ?? 0) === size &&
        (s.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True')
      );
    };
    const crReady = (o: any, size: number) => {
      const s = o.status ?? {};
      if (o.spec?.size !== size || s.observedGeneration !== o.metadata?.generation) return false;
      if ((s.conditions ?? []).some((c: any) => c.type === 'Degraded' && c.status !== 'False')) return false;
      if (opts.tier === 'api') return Array.isArray(s.conditions) && s.conditions.length > 0;
      return (
        (s.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True') &&
        s.readyReplicas === size &&
        s.replicas === size &&
        (s.nodes ?? []).length === size
      );
    };
    watchers.push(
      await client.listWatch(DEPLOY_PATH, (type, d, at) => {
        lastEventAt = at;
        const st = crs.get(d.metadata?.name);
        if (!st || type === 'DELETED' || st.sentAt === undefined) return;
        if (st.deploymentAt === undefined && (phase !== 'update' || d.spec?.replicas === st.size)) st.deploymentAt = at;
        if (opts.tier === 'workload') {
          st.deploymentReady = deploymentReady(d, st.size);
          if (st.deploymentReady) st.deploymentReadyAt ??= at;
        } else {
          st.deploymentReady = d.spec?.replicas === st.size;
          if (st.deploymentReady) st.deploymentReadyAt ??= at;
        }
      }),
    );
    watchers.push(
      await client.listWatch(CR_PATH, (type, o, at) => {
        lastEventAt = at;
        const st = crs.get(o.metadata?.name);
        if (!st || type === 'DELETED' || st.sentAt === undefined) return;
        st.crReady = crReady(o, st.size);
        if (st.crReady) st.crReadyAt ??= at;
      }),
    );

    // the operator, as deployed
    const extraArgs = [`--max-concurrent-reconciles=${workers}`];
    if (opts.leaderElect) extraArgs.push(`--leader-election-id=bench-${process.pid}-${n}-${workers}-${run}.${GROUP}`);
    else extraArgs.push('--leader-elect=false');
    if (opts.syncPeriod) extraArgs.push(`--sync-period=${opts.syncPeriod}`);
    const limits: RunResult['limits'] = {};
    if (opts.limits) {
      const spec = synthesizedOperator().limits;
      Object.assign(limits, spec);
      const g = spec.cpu && spec.memory ? createLimitGroup(`bench-operator-${process.pid}-${n}-${workers}-${run}`, parseLimits(spec.cpu, spec.memory)) : { error: 'the Deployment sets no cpu and memory limits' };
      if ('error' in g) {
        limits.error = g.error;
        log(`WARNING: the operator runs without its limits: ${g.error}`);
      } else {
        group = g;
        limits.cgroup = g.version;
      }
    }
    const opStarted = performance.now();
    const opStartedWall = Date.now();
    op = startOperator({
      commandPrefix: group?.prefix,
      kubeconfig: sa.path,
      podNamespace: OP_NS,
      watchNamespace: opts.watchNamespace ? NS : undefined,
      extraArgs,
      extraEnv: nodeOptions(n, workers, run),
    });
    await op.waitForLog('workers started', (l) => l.msg === 'caches synced, starting workers', 120_000);
    const operatorStartMs = performance.now() - opStarted;
    const pid = op.proc.pid!;
    /** The operator must live through the run: if it exited, fail the run with its last words. */
    const checkOperator = () => {
      const p = op!.proc;
      if (p.exitCode === null && p.signalCode === null) return;
      const tail = op!.text().split('\n').slice(-25).join('\n');
      const cg = group ? `; its cgroup: ${JSON.stringify(group.stats())}` : '';
      throw new Error(`the operator exited (code ${p.exitCode}, signal ${p.signalCode})${cg}; its last log lines:\n${tail}`);
    };
    const metricsPort = await op.metricsPort();
    await sleep(1000);

    const components = componentPids(cp.dir, pid);
    const componentCpu = () => {
      const out: Record<string, number> = {};
      for (const [name, p] of Object.entries(components)) out[name] = procSample(p)?.cpuSeconds ?? NaN;
      const self = process.cpuUsage();
      out['benchmark client'] = (self.user + self.system) / 1e6;
      return out;
    };
    const snap = async () => ({
      wall: Date.now(),
      proc: procSample(pid),
      cpu: componentCpu(),
      opm: await scrape(metricsPort).catch(() => undefined),
      api: parsePrometheus(await cp!.apiserverMetrics(), API_SERIES),
    });
    const apiBefore = parsePrometheus(await cp.apiserverMetrics(), API_SERIES);

    /** Sends `count` requests with bounded concurrency; returns when all are answered. */
    const sendAll = async (names: string[], send: (name: string) => Promise<{ status: number; body: string }>) => {
      let next = 0;
      const failures: string[] = [];
      await Promise.all(
        Array.from({ length: Math.min(opts.concurrency, names.length) }, async () => {
          while (next < names.length) {
            const name = names[next++];
            const st = crs.get(name)!;
            st.sentAt = performance.now();
            const r = await send(name);
            st.respondedAt = performance.now();
            if (r.status >= 300) failures.push(`${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
          }
        }),
      );
      if (failures.length) throw new Error(`${failures.length} requests failed, e.g. ${failures[0]}`);
    };

    const waitConverged = async (t0: number) => {
      const deadline = performance.now() + opts.timeoutS * 1000;
      let lastReport = performance.now();
      for (;;) {
        checkOperator();
        const states = [...crs.values()];
        const done = states.filter((s) => s.deploymentReady && s.crReady).length;
        if (done === states.length) return true;
        if (performance.now() > deadline) {
          log(`  not converged after ${opts.timeoutS} s: ${done}/${states.length}`);
          return false;
        }
        if (performance.now() - lastReport > 15_000) {
          lastReport = performance.now();
          const deps = states.filter((s) => s.deploymentAt !== undefined).length;
          const ready = states.filter((s) => s.deploymentReady).length;
          log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: deployments ${deps}/${n}, ready ${ready}/${n}, converged ${done}/${n}`);
        }
        await sleep(25);
      }
    };

    /** Waits until neither watch saw an event for `quietMs` (bounded). */
    const quiesce = async (quietMs = 3000, maxMs = 60_000) => {
      const deadline = performance.now() + maxMs;
      while (performance.now() - lastEventAt < quietMs && performance.now() < deadline) await sleep(100);
    };

    const phaseFigures = (t0: number, converged: boolean) => {
      const states = [...crs.values()];
      const maxOf = (f: (s: CrState) => number | undefined) => {
        const v = states.map(f);
        return v.every((x) => x !== undefined) ? Math.max(...(v as number[])) - t0 : undefined;
      };
      return {
        converged,
        convergedCount: states.filter((s) => s.deploymentReady && s.crReady).length,
        allSentMs: round(maxOf((s) => s.respondedAt), 0),
        allDeploymentsMs: round(maxOf((s) => s.deploymentAt), 0),
        allDeploymentsAvailableMs: opts.tier === 'workload' ? round(maxOf((s) => s.deploymentReadyAt), 0) : undefined,
        allStatusMs: round(maxOf((s) => s.crReadyAt), 0),
        latencyClientMs: roundStats(latencyStats(states.filter((s) => s.deploymentAt !== undefined).map((s) => s.deploymentAt! - s.sentAt!))),
        requestMs: roundStats(latencyStats(states.map((s) => s.respondedAt! - s.sentAt!))),
      };
    };

    // ---- phase 1: create N at once
    const names = Array.from({ length: n }, (_, i) => `mc-${String(i).padStart(4, '0')}`);
    names.forEach((name, i) => crs.set(name, { size: sizeFor(i), deploymentReady: false, crReady: false }));
    log(`  creating ${n} Memcached objects`);
    const s0 = await snap();
    const t0 = performance.now();
    await sendAll(names, (name) =>
      client!.request('POST', CR_PATH, { apiVersion: `${GROUP}/${VERSION}`, kind: 'Memcached', metadata: { name }, spec: { size: crs.get(name)!.size } }),
    );
    const createConverged = await waitConverged(t0);
    const createFig = phaseFigures(t0, createConverged);
    log(`  create: all Deployments ${createFig.allDeploymentsMs} ms, all Available ${createFig.allDeploymentsAvailableMs} ms, statuses ${createFig.allStatusMs} ms, p99 ${createFig.latencyClientMs.p99} ms`);
    await quiesce();
    const s1 = await snap();

    // ---- phase 2: idle
    log(`  idle ${opts.idleS} s`);
    const idleSamples: { t: number; p: ProcSample }[] = [];
    const idleEnd = performance.now() + opts.idleS * 1000;
    while (performance.now() < idleEnd) {
      checkOperator();
      const p = procSample(pid);
      if (p) idleSamples.push({ t: performance.now(), p });
      await sleep(Math.min(1000, Math.max(0, idleEnd - performance.now())));
    }
    const s2 = await snap();

    // ---- phase 3: change every size
    phase = 'update';
    for (const st of crs.values()) Object.assign(st, { size: nextSize(st.size), sentAt: undefined, respondedAt: undefined, deploymentAt: undefined, deploymentReady: false, deploymentReadyAt: undefined, crReady: false, crReadyAt: undefined });
    log(`  patching every size`);
    const t1 = performance.now();
    await sendAll(names, (name) => client!.request('PATCH', `${CR_PATH}/${name}`, { spec: { size: crs.get(name)!.size } }, 'application/merge-patch+json'));
    const updateConverged = await waitConverged(t1);
    const updateFig = phaseFigures(t1, updateConverged);
    log(`  update: all Deployments ${updateFig.allDeploymentsMs} ms, all Available ${updateFig.allDeploymentsAvailableMs} ms, statuses ${updateFig.allStatusMs} ms, p99 ${updateFig.latencyClientMs.p99} ms`);
    await quiesce();
    const s3 = await snap();
    const apiAfter = s3.api;

    // ---- phase 4: one at a time on a quiet system
    phase = 'single';
    const singles: CrState[] = [];
    const s4 = { wall: Date.now() };
    for (let i = 0; i < opts.single; i++) {
      const name = `single-${String(i).padStart(3, '0')}`;
      const st: CrState = { size: opts.minSize, deploymentReady: false, crReady: false };
      crs.set(name, st);
      singles.push(st);
      st.sentAt = performance.now();
      const r = await client.request('POST', CR_PATH, { apiVersion: `${GROUP}/${VERSION}`, kind: 'Memcached', metadata: { name }, spec: { size: st.size } });
      st.respondedAt = performance.now();
      if (r.status >= 300) throw new Error(`create ${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      const deadline = performance.now() + 30_000;
      while (st.deploymentAt === undefined && performance.now() < deadline) await sleep(2);
      await sleep(250);
    }
    const s5 = { wall: Date.now() };

    // ---- attribution from the audit log
    if (opts.keepAudit) {
      mkdirSync(opts.keepAudit, { recursive: true });
      copyFileSync(audit.logPath, join(opts.keepAudit, `audit-n${n}-w${workers}-r${run}.log`));
    }
    const records = await readAudit(audit.logPath);
    const opRecords = records.filter((r) => r.user === OP_USER);
    const window = (from: number, to: number) => inWindow(opRecords, from, to);
    const others = (from: number, to: number) => clientRates(records, from, to, OP_USER);
    const serverLatency = (adminVerb: string, opVerb: string, from: number, to: number) => {
      const crDone = new Map<string, number>();
      for (const r of inWindow(records, from, to)) if (r.user === ADMIN_USER && r.verb === adminVerb && r.resource === 'memcacheds' && r.name) crDone.set(r.name, r.at);
      const out: number[] = [];
      const seen = new Set<string>();
      for (const r of window(from, to)) {
        if (r.verb !== opVerb || r.resource !== 'deployments' || !r.name || seen.has(r.name) || r.code >= 300) continue;
        const c = crDone.get(r.name);
        if (c === undefined || r.at < c) continue;
        seen.add(r.name);
        out.push(r.at - c);
      }
      return roundStats(latencyStats(out));
    };
    const cpuShare = (a: { wall: number; cpu: Record<string, number> }, b: { wall: number; cpu: Record<string, number> }): CpuShare => ({
      wallS: round((b.wall - a.wall) / 1000, 1)!,
      cpuS: Object.fromEntries(Object.keys(b.cpu).map((k) => [k, round(b.cpu[k] - a.cpu[k], 2)!])),
    });
    const cpu = (a?: ProcSample, b?: ProcSample) => (a && b ? round(b.cpuSeconds - a.cpuSeconds, 2) : undefined);

    const create: PhaseResult = {
      ...createFig,
      latencyServerMs: serverLatency('create', 'create', s0.wall, s1.wall),
      operatorRequests: summarize(window(s0.wall, s1.wall)),
      otherClients: others(s0.wall, s1.wall),
      cpuSeconds: cpu(s0.proc, s1.proc),
      rssEndMiB: round(s1.proc?.rssMiB),
      peakRssMiB: round(s1.proc?.hwmMiB),
      operatorMetrics: metricsDelta(s0.opm, s1.opm),
    };
    const idleOps = window(s1.wall, s2.wall);
    const idleWrites = idleOps.filter((r) => WRITE_VERBS.has(r.verb));
    const leaseWrites = idleWrites.filter((r) => r.resource === 'leases').length;
    const idle: IdleResult = {
      seconds: round((s2.wall - s1.wall) / 1000, 1)!,
      operatorRequests: summarize(idleOps),
      writes: idleWrites.length,
      leaseWrites,
      writesExcludingLease: idleWrites.length - leaseWrites,
      cpuSeconds: cpu(s1.proc, s2.proc),
      rssStartMiB: round(idleSamples[0]?.p.rssMiB),
      rssEndMiB: round(idleSamples.at(-1)?.p.rssMiB),
      rssSlopeMiBPerMin: round(slope(idleSamples.map((s) => s.t / 60_000), idleSamples.map((s) => s.p.rssMiB)), 2),
      heapUsedStartMiB: round((s1.opm?.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20),
      heapUsedEndMiB: round((s2.opm?.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20),
      operatorMetrics: metricsDelta(s1.opm, s2.opm),
    };
    const update: PhaseResult = {
      ...updateFig,
      latencyServerMs: serverLatency('patch', 'patch', s2.wall, s3.wall),
      operatorRequests: summarize(window(s2.wall, s3.wall)),
      otherClients: others(s2.wall, s3.wall),
      cpuSeconds: cpu(s2.proc, s3.proc),
      rssEndMiB: round(s3.proc?.rssMiB),
      peakRssMiB: round(s3.proc?.hwmMiB),
      operatorMetrics: metricsDelta(s2.opm, s3.opm),
    };
    const before = exclusiveCounts(apiBefore);
    const after = exclusiveCounts(apiAfter);
    const fromStart = window(0, s3.wall + 1);
    const auditCounts = summarize(window(s0.wall, s3.wall)).byVerbResource;
    const result: RunResult = {
      n,
      workers,
      run,
      tier: opts.tier,
      nodes,
      loadavg: { start: loadStart, end: round(loadavg()[0], 2)! },
      controlPlaneStartMs,
      operatorStartMs: round(operatorStartMs, 0)!,
      create,
      idle,
      update,
      operatorTotal: { requests: summarize(fromStart.filter((r) => r.at >= opStartedWall)), cpuSeconds: round(s3.proc?.cpuSeconds, 2), peakRssMiB: round(s3.proc?.hwmMiB) },
      limits: { ...limits, stats: group?.stats() },
      single: opts.single
        ? {
            count: singles.length,
            latencyClientMs: roundStats(latencyStats(singles.filter((s) => s.deploymentAt !== undefined).map((s) => s.deploymentAt! - s.sentAt!))),
            latencyServerMs: serverLatency('create', 'create', s4.wall, s5.wall),
            requestMs: roundStats(latencyStats(singles.map((s) => s.respondedAt! - s.sentAt!))),
          }
        : undefined,
      cpuByComponent: { create: cpuShare(s0, s1), idle: cpuShare(s1, s2), update: cpuShare(s2, s3) },
      metricCrossCheck: EXCLUSIVE.map((e, i) => ({ series: `${e.metric[0]} ${e.metric[1]}${e.metric[2] ? '/' + e.metric[2] : ''}`, metric: after[i] - before[i], audit: auditCounts[e.audit] ?? 0 })),
    };
    return result;
  } finally {
    for (const w of watchers) w.stop();
    client?.close();
    if (op) {
      const exited = op.stop('SIGTERM');
      const timer = setTimeout(() => op?.proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    try {
      group?.remove();
    } catch (e) {
      log(`could not remove the operator's cgroup: ${(e as Error).message}`);
    }
    process.off('exit', killOp);
    await cp?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The control plane's processes (from its pids file) and the operator, by name. */
function componentPids(dir: string, operatorPid: number): Record<string, number> {
  const out: Record<string, number> = { operator: operatorPid };
  let pids: number[] = [];
  try {
    pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split(/\s+/).map(Number).filter(Boolean);
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const name = argv.find((a) => /^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)$/.test(a)) ?? (argv[0].endsWith('kwok') ? 'kwok' : argv[0].split('/').pop()!);
      out[name] = pid;
    } catch {
      // exited
    }
  }
  return out;
}

function roundStats(s: ReturnType<typeof latencyStats>) {
  return { count: s.count, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max) };
}

// ---------------------------------------------------------------------------------------
// main

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

type Summary = Record<string, number | string | undefined>;

function summarizeConfig(runs: RunResult[]): Summary {
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

function printTables(summaries: Summary[], runs: RunResult[]): void {
  const f = (v: unknown) => (v === undefined ? '–' : String(v));
  const table = (title: string, cols: [string, string][]) => {
    console.log(`\n${title}`);
    console.log(`| ${cols.map((c) => c[0]).join(' | ')} |`);
    console.log(`| ${cols.map(() => '---').join(' | ')} |`);
    for (const s of summaries) console.log(`| ${cols.map((c) => f(s[c[1]])).join(' | ')} |`);
  };
  table('create N at once (medians over runs; latencies per CR: client = request sent → Deployment on our watch, server = audit CR created → Deployment created)', [
    ['N', 'n'], ['workers', 'workers'], ['runs', 'runs'], ['converged', 'converged'],
    ['all Deployments s', 'createAllDeploymentsS'], ['all Available s', 'createAllAvailableS'], ['all CR status s', 'createAllStatusS'],
    ['p50 ms', 'createP50Ms'], ['p99 ms', 'createP99Ms'], ['max ms', 'createMaxMs'],
    ['server p50/p99 ms', '_sc'], ['CR POST p50/p99 ms', '_cr'],
    ['op requests', 'createOpRequests'], ['op writes', 'createOpWrites'], ['op CPU s', 'createOpCpuS'],
  ].map((c) => c as [string, string]));
  table('change every size (medians)', [
    ['N', 'n'], ['workers', 'workers'],
    ['all Deployments s', 'updateAllDeploymentsS'], ['all Available s', 'updateAllAvailableS'], ['all CR status s', 'updateAllStatusS'],
    ['p50 ms', 'updateP50Ms'], ['p99 ms', 'updateP99Ms'], ['max ms', 'updateMaxMs'], ['server p50/p99 ms', '_su'],
    ['op requests', 'updateOpRequests'], ['op writes', 'updateOpWrites'], ['op CPU s', 'updateOpCpuS'],
  ]);
  table(`one CR at a time on a quiet system, ${opts.single} CRs (medians)`, [
    ['N', 'n'], ['workers', 'workers'], ['p50 ms', 'singleP50Ms'], ['p99 ms', 'singleP99Ms'], ['max ms', 'singleMaxMs'], ['server p50 ms', 'singleServerP50Ms'], ['server max ms', 'singleServerMaxMs'],
  ]);
  table(`idle ${opts.idleS} s and process (medians)`, [
    ['N', 'n'], ['workers', 'workers'], ['idle writes', 'idleWrites'], ['idle writes excl. lease', 'idleWritesExclLease'], ['idle requests', 'idleRequests'],
    ['idle CPU s', 'idleCpuS'], ['idle RSS slope MiB/min', 'idleRssSlopeMiBPerMin'], ['peak RSS MiB', 'peakRssMiB'], ['CPU s total', 'totalCpuS'],
    ['limits cpu/memory', 'limits'], ['cgroup peak MiB', 'cgroupPeakMemoryMiB'], ['OOM kills', 'oomKills'], ['CPU throttled s', 'cpuThrottledS'],
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
      console.log(`| ${sm.n} | ${sm.workers} | ${f(round(median(rs.map((r) => r.cpuByComponent[phase].wallS)), 1))} | ${comps.map(cell).join(' | ')} |`);
    }
  }
  // the other clients of the apiserver (the controllers that turn Deployments into Available pods)
  console.log('\nother API clients in the create phase (audit log; first run of each configuration): requests, mean/s, busiest second');
  console.log('| N | workers | clients |');
  console.log('| --- | --- | --- |');
  const firsts = new Set<string>();
  for (const r of runs) {
    if (firsts.has(`${r.n}/${r.workers}`)) continue;
    firsts.add(`${r.n}/${r.workers}`);
    const top = Object.entries(r.create.otherClients).slice(0, 6).map(([c, v]) => `${c} ${v.requests} (${v.perSecond}/s, peak ${v.peakPerSecond})`);
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
    for (const [name, s] of [['create', r.create.operatorRequests], ['idle', r.idle.operatorRequests], ['update', r.update.operatorRequests]] as const) {
      const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`| ${r.n} | ${r.workers} | ${name} | ${s.total} | ${fmt(s.byVerb)} | ${fmt(s.byVerbResource)} |`);
    }
  }
}

async function main(): Promise<void> {
  const onSignal = () => {
    log('interrupted: stopping');
    process.exit(130); // exit hooks kill the control plane and the operator
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: release(),
    loadavgAtStart: loadavg().map((x) => round(x, 2)),
  };
  findBinaries(opts.tier); // throws with the fix (npm run cluster:build) when they are missing
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'operator', 'constructs', 'bench', 'cluster', ':!bench/results']);
  log(`commit ${commit}${dirty ? ' (+ uncommitted changes)' : ''}, ${machine.cores} cores, Node ${machine.node}`);

  const runs: RunResult[] = [];
  const errors: { n: number; workers: number; run: number; error: string }[] = [];
  /** Summarizes and writes the JSON (after every run, so a crash keeps what was measured). */
  const save = (final: boolean) => {
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
    writeFileSync(
      opts.out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          commit,
          uncommittedChanges: dirty ? dirty.split('\n') : [],
          command: `node scripts/run-ts.mjs bench/operator.ts ${process.argv.slice(2).join(' ')}`.trim(),
          machine,
          options: { ...opts, out: undefined },
          summary: clean,
          runs,
          errors,
        },
        null,
        2,
      ) + '\n',
    );
    if (final) {
      console.log(`operator benchmark: tier ${opts.tier}, sizes ${opts.minSize}..${opts.maxSize}, idle ${opts.idleS} s, ${machine.cores} cores, Node ${machine.node}, commit ${commit}${dirty ? '+dirty' : ''}`);
      printTables(summaries, runs);
      for (const e of errors) console.log(`\nrun N=${e.n} workers=${e.workers} #${e.run} failed: ${e.error.split('\n')[0]}`);
    }
  };
  for (const n of opts.ns) {
    for (const workers of opts.workers) {
      for (let run = 1; run <= opts.runs; run++) {
        try {
          runs.push(await runOnce(n, workers, run));
        } catch (err) {
          const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
          log(`run failed: ${msg}`);
          errors.push({ n, workers, run, error: msg });
          if (!argv['keep-going']) throw err;
        }
        save(false);
      }
    }
  }
  save(true);
  log(`wrote ${opts.out}`);
  if (errors.length) process.exitCode = 1;
}

const f0 = (v: unknown) => (typeof v === 'number' ? v.toFixed(0) : '–');

await main();
