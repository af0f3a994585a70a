// Setting up one run of the operator benchmark: a control plane of its own with audit
// logging, the operator chart's prerequisites, the benchmark namespace, and the operator
// itself (the synthesized command, its ServiceAccount token, the Deployment's limits).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startControlPlane, type ControlPlane } from '../../cluster/controlplane';
import { startOperator, synthesizedOperator, type OperatorProcess } from '../../cluster/operator-process';
import { sleep, waitFor } from '../../cluster/wait';
import { DEFAULT_CONTROLLERS } from '../../cluster/workload';
import { auditArgs } from '../lib/audit';
import { createLimitGroup, parseLimits, type LimitGroup } from '../lib/cgroup';
import { RawClient, type Watcher } from '../lib/kube';
import { round } from '../lib/stats';
import { componentPids } from './metrics';
import { benchNamespaces, GROUP, log, NS, nodeOptions, OP_NS, type Options } from './options';
import type { Subject } from './subject';
import type { RunResult } from './types';

/** Everything a run starts; close() stops whatever was started, in reverse order. */
export class RunEnv {
  readonly work = mkdtempSync(join(tmpdir(), 'bench-operator-'));
  readonly audit = auditArgs(this.work);
  readonly loadStart = round(loadavg()[0], 2)!;
  readonly watchers: Watcher[] = [];
  cp?: ControlPlane;
  client?: RawClient;
  op?: Pick<OperatorProcess, 'proc' | 'stop'>;
  group?: LimitGroup;
  /** kubeconfig with a bound token of the operator's ServiceAccount */
  saKubeconfig = '';
  controlPlaneStartMs = 0;
  // on exit or a signal (see main.ts) the operator dies with us and the audit dir goes
  private readonly killOp = () => {
    if (this.op?.proc.exitCode === null) this.op.proc.kill('SIGKILL');
    rmSync(this.work, { recursive: true, force: true });
  };

  constructor(readonly nodes: number) {
    process.on('exit', this.killOp);
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.stop();
    this.client?.close();
    const op = this.op;
    if (op) {
      const exited = op.stop('SIGTERM');
      const timer = setTimeout(() => op.proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    try {
      this.group?.remove();
    } catch (e) {
      log(`could not remove the operator's cgroup: ${(e as Error).message}`);
    }
    process.off('exit', this.killOp);
    await this.cp?.stop();
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** Starts the control plane and prepares the cluster for `subject`; the operator is not started yet. */
export async function setUpCluster(opts: Options, env: RunEnv, subject: Subject): Promise<void> {
  const qps = opts.controlPlaneQps;
  const cp = await startControlPlane({
    tier: opts.tier,
    nodes: Math.max(1, env.nodes),
    ...(opts.disableControllers.length
      ? { controllers: DEFAULT_CONTROLLERS.filter((c) => !opts.disableControllers.includes(c)) }
      : {}),
    // The harness's service range is a /24 (about 250 ClusterIPs). The operand Services are
    // headless, but a wider range keeps the benchmark valid for ClusterIP experiments.
    apiserverArgs: [
      ...env.audit.args,
      '--service-cluster-ip-range=10.0.0.0/16',
      ...(opts.apiserverProfiling ? ['--profiling=true'] : []),
    ],
    ...(qps > 0
      ? {
          controllerManagerArgs: [`--kube-api-qps=${qps}`, `--kube-api-burst=${2 * qps}`],
          schedulerArgs: [`--kube-api-qps=${qps}`, `--kube-api-burst=${2 * qps}`],
        }
      : {}),
    timeoutMs: 180_000,
  });
  env.cp = cp;
  env.controlPlaneStartMs = cp.timings.total;
  await subject.install(cp);
  const client = new RawClient(cp.server, cp.pki, opts.concurrency);
  env.client = client;
  const namespaces = benchNamespaces(opts.namespaces);
  for (const name of namespaces) {
    await client.json('POST', '/api/v1/namespaces', {
      metadata: {
        name,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' },
      },
    });
  }
  if (opts.tier === 'workload') {
    // pods need the namespace's default ServiceAccount (the serviceaccount controller makes it)
    await waitFor(
      `the default ServiceAccount of ${namespaces.length} namespace(s)`,
      async () => {
        const r = await client.request('GET', '/api/v1/serviceaccounts?fieldSelector=metadata.name%3Ddefault');
        if (r.status !== 200) return false;
        const have = new Set(JSON.parse(r.body).items.map((sa: any) => sa.metadata.namespace));
        return namespaces.every((n) => have.has(n));
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }
  env.saKubeconfig = (
    await cp.serviceAccountKubeconfig(subject.namespace, subject.serviceAccount, {
      create: false,
      expirationSeconds: 4 * 3600,
    })
  ).path;
}

/** The operator of a run once its workers started. */
export interface BenchOperator {
  pid: number;
  /** its Prometheus /metrics over plain HTTP on 127.0.0.1 (undefined: not scraped) */
  metricsPort?: number;
  startMs: number;
  /** Date.now() when it was started */
  startedWall: number;
  limits: RunResult['limits'];
  /** processes whose CPU time is reported, by name */
  components: Record<string, number>;
  /** throws with the operator's last log lines if it has exited */
  check(): void;
}

/** The cgroup holding the Deployment's limits, or why there is none. */
function limitGroup(opts: Options, name: string): { limits: RunResult['limits']; group?: LimitGroup } {
  const limits: RunResult['limits'] = {};
  if (!opts.limits) return { limits };
  const spec = synthesizedOperator().limits;
  Object.assign(limits, spec);
  const g =
    spec.cpu && spec.memory
      ? createLimitGroup(name, parseLimits(spec.cpu, spec.memory))
      : { error: 'the Deployment sets no cpu and memory limits' };
  if ('error' in g) {
    limits.error = g.error;
    log(`WARNING: the operator runs without its limits: ${g.error}`);
    return { limits };
  }
  limits.cgroup = g.version;
  return { limits, group: g };
}

/** Starts the operator as deployed (under its limits unless --no-limits) and waits for its workers. */
export async function startBenchOperator(
  opts: Options,
  env: RunEnv,
  n: number,
  workers: number,
  run: number,
): Promise<BenchOperator> {
  const extraArgs = [`--max-concurrent-reconciles=${workers}`];
  if (opts.leaderElect) extraArgs.push(`--leader-election-id=bench-${process.pid}-${n}-${workers}-${run}.${GROUP}`);
  else extraArgs.push('--leader-elect=false');
  if (opts.syncPeriod) extraArgs.push(`--sync-period=${opts.syncPeriod}`);
  const { limits, group } = limitGroup(opts, `bench-operator-${process.pid}-${n}-${workers}-${run}`);
  env.group = group;
  const started = performance.now();
  const startedWall = Date.now();
  const op = startOperator({
    commandPrefix: group?.prefix,
    kubeconfig: env.saKubeconfig,
    podNamespace: OP_NS,
    watchNamespace: opts.watchNamespace ? NS : undefined,
    extraArgs,
    extraEnv: nodeOptions(opts, n, workers, run),
  });
  env.op = op;
  await op.waitForLog('workers started', (l) => l.msg === 'caches synced, starting workers', 120_000);
  const startMs = performance.now() - started;
  const pid = op.proc.pid!;
  /** The operator must live through the run: if it exited, fail the run with its last words. */
  const check = () => {
    const p = op.proc;
    if (p.exitCode === null && p.signalCode === null) return;
    const tail = op.text().split('\n').slice(-25).join('\n');
    const cg = group ? `; its cgroup: ${JSON.stringify(group.stats())}` : '';
    throw new Error(
      `the operator exited (code ${p.exitCode}, signal ${p.signalCode})${cg}; its last log lines:\n${tail}`,
    );
  };
  const metricsPort = await op.metricsPort();
  await sleep(1000);
  return { pid, metricsPort, startMs, startedWall, limits, components: componentPids(env.cp!.dir, pid), check };
}
