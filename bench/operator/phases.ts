// The phases of one benchmark run, timed on the benchmark's own watches of Deployments and
// Memcached objects: create N at once, idle, change every size, then one CR at a time.
import { performance } from 'node:perf_hooks';
import { sleep } from '../../cluster/wait';
import type { RawClient, Watcher } from '../lib/kube';
import { latencyStats, parsePrometheus, procSample, round, type ProcSample } from '../lib/stats';
import { API_SERIES, roundStats, scrape } from './metrics';
import { benchNamespaces, crPath, GROUP, log, VERSION, watchPaths, type Options } from './options';
import type { BenchOperator } from './setup';
import type { CrState } from './types';

type Phase = 'create' | 'update' | 'single';

/** Whether a Deployment has `size` replicas, all updated, ready and available. */
function deploymentReady(d: any, size: number): boolean {
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
}

/** Per CR, when its Deployment appeared and became ready and when its status did. */
export class Tracker {
  readonly crs = new Map<string, CrState>();
  lastEventAt = performance.now();
  phase: Phase = 'create';

  constructor(
    private readonly opts: Options,
    private readonly client: RawClient,
    /** when a Memcached's status reports `size` as done (the operator under test's own status) */
    private readonly crReady: (tier: Options['tier'], o: any, size: number) => boolean,
  ) {}

  /** The state of the tracked object `o` (a Memcached or its Deployment), if it is one. */
  private stateOf(o: any): CrState | undefined {
    const st = this.crs.get(o.metadata?.name);
    return st?.namespace === o.metadata?.namespace ? st : undefined;
  }

  async watch(watchers: Watcher[]): Promise<void> {
    const paths = watchPaths(this.opts.namespaces);
    watchers.push(
      await this.client.listWatch(paths.deployments, (type, d, at) => {
        this.lastEventAt = at;
        const st = this.stateOf(d);
        if (!st || type === 'DELETED' || st.sentAt === undefined) return;
        if (st.deploymentAt === undefined && (this.phase !== 'update' || d.spec?.replicas === st.size))
          st.deploymentAt = at;
        st.deploymentReady = this.opts.tier === 'workload' ? deploymentReady(d, st.size) : d.spec?.replicas === st.size;
        if (st.deploymentReady) st.deploymentReadyAt ??= at;
      }),
    );
    watchers.push(
      await this.client.listWatch(paths.memcacheds, (type, o, at) => {
        this.lastEventAt = at;
        const st = this.stateOf(o);
        if (!st || type === 'DELETED' || st.sentAt === undefined) return;
        st.crReady = this.crReady(this.opts.tier, o, st.size);
        if (st.crReady) st.crReadyAt ??= at;
      }),
    );
  }

  /** Sends one request per name with bounded concurrency; returns when all are answered. */
  async sendAll(names: string[], send: (name: string) => Promise<{ status: number; body: string }>): Promise<void> {
    let next = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: Math.min(this.opts.concurrency, names.length) }, async () => {
        while (next < names.length) {
          const name = names[next++];
          const st = this.crs.get(name)!;
          st.sentAt = performance.now();
          const r = await send(name);
          st.respondedAt = performance.now();
          if (r.status >= 300) failures.push(`${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
        }
      }),
    );
    if (failures.length) throw new Error(`${failures.length} requests failed, e.g. ${failures[0]}`);
  }

  /** Waits until every CR is converged or --timeout passes (false); reports progress every 15 s. */
  async waitConverged(t0: number, check: () => void): Promise<boolean> {
    const n = this.crs.size;
    const deadline = performance.now() + this.opts.timeoutS * 1000;
    let lastReport = performance.now();
    for (;;) {
      check();
      const states = [...this.crs.values()];
      const done = states.filter((s) => s.deploymentReady && s.crReady).length;
      if (done === states.length) return true;
      if (performance.now() > deadline) {
        log(`  not converged after ${this.opts.timeoutS} s: ${done}/${states.length}`);
        return false;
      }
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        const deps = states.filter((s) => s.deploymentAt !== undefined).length;
        const ready = states.filter((s) => s.deploymentReady).length;
        log(
          `  ${((performance.now() - t0) / 1000).toFixed(0)} s: deployments ${deps}/${n}, ready ${ready}/${n}, converged ${done}/${n}`,
        );
      }
      await sleep(25);
    }
  }

  /** Waits until neither watch saw an event for `quietMs` (bounded). */
  async quiesce(quietMs = 3000, maxMs = 60_000): Promise<void> {
    const deadline = performance.now() + maxMs;
    while (performance.now() - this.lastEventAt < quietMs && performance.now() < deadline) await sleep(100);
  }

  /** The phase's figures from the tracked CRs, relative to `t0`. */
  figures(t0: number, converged: boolean) {
    const states = [...this.crs.values()];
    const maxOf = (f: (s: CrState) => number | undefined) => {
      const v = states.map(f);
      return v.every((x) => x !== undefined) ? Math.max(...(v as number[])) - t0 : undefined;
    };
    return {
      converged,
      convergedCount: states.filter((s) => s.deploymentReady && s.crReady).length,
      allSentMs: round(
        maxOf((s) => s.respondedAt),
        0,
      ),
      allDeploymentsMs: round(
        maxOf((s) => s.deploymentAt),
        0,
      ),
      allDeploymentsAvailableMs:
        this.opts.tier === 'workload'
          ? round(
              maxOf((s) => s.deploymentReadyAt),
              0,
            )
          : undefined,
      allStatusMs: round(
        maxOf((s) => s.crReadyAt),
        0,
      ),
      latencyClientMs: roundStats(
        latencyStats(states.filter((s) => s.deploymentAt !== undefined).map((s) => s.deploymentAt! - s.sentAt!)),
      ),
      requestMs: roundStats(latencyStats(states.map((s) => s.respondedAt! - s.sentAt!))),
    };
  }
}

export type PhaseFigures = ReturnType<Tracker['figures']>;

/** Process and metrics state at a phase boundary. */
export interface Snapshot {
  wall: number;
  proc?: ProcSample;
  cpu: Record<string, number>;
  opm?: Map<string, number>;
  api: Map<string, number>;
}

export interface PhaseContext {
  opts: Options;
  n: number;
  client: RawClient;
  tracker: Tracker;
  operator: BenchOperator;
  apiserverMetrics(): Promise<string>;
}

/** CPU seconds so far of each process of the set-up, and of the benchmark itself. */
function componentCpu(components: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, p] of Object.entries(components)) out[name] = procSample(p)?.cpuSeconds ?? NaN;
  const self = process.cpuUsage();
  out['benchmark client'] = (self.user + self.system) / 1e6;
  return out;
}

export async function snapshot(ctx: PhaseContext): Promise<Snapshot> {
  return {
    wall: Date.now(),
    proc: procSample(ctx.operator.pid),
    cpu: componentCpu(ctx.operator.components),
    opm: ctx.operator.metricsPort ? await scrape(ctx.operator.metricsPort).catch(() => undefined) : undefined,
    api: parsePrometheus(await ctx.apiserverMetrics(), API_SERIES),
  };
}

/** A Memcached to create: `size`, and the port when --container-port is given. */
export function crBody(opts: Pick<Options, 'containerPort'>, name: string, size: number) {
  const spec = opts.containerPort === undefined ? { size } : { size, containerPort: opts.containerPort };
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'Memcached', metadata: { name }, spec };
}

/** Phase 1: create N objects at once (sizes round-robin) and wait until all converged. */
export async function createPhase(ctx: PhaseContext, names: string[]): Promise<PhaseFigures> {
  const { opts, tracker } = ctx;
  const sizeFor = (i: number) => opts.minSize + (i % (opts.maxSize - opts.minSize + 1));
  const namespaces = benchNamespaces(opts.namespaces);
  names.forEach((name, i) =>
    tracker.crs.set(name, {
      namespace: namespaces[i % namespaces.length],
      size: sizeFor(i),
      deploymentReady: false,
      crReady: false,
    }),
  );
  log(`  creating ${ctx.n} Memcached objects in ${namespaces.length} namespace(s)`);
  const t0 = performance.now();
  await tracker.sendAll(names, (name) => {
    const st = tracker.crs.get(name)!;
    return ctx.client.request('POST', crPath(st.namespace), crBody(opts, name, st.size));
  });
  const fig = tracker.figures(t0, await tracker.waitConverged(t0, ctx.operator.check));
  log(
    `  create: all Deployments ${fig.allDeploymentsMs} ms, all Available ${fig.allDeploymentsAvailableMs} ms, statuses ${fig.allStatusMs} ms, p99 ${fig.latencyClientMs.p99} ms`,
  );
  await tracker.quiesce();
  return fig;
}

/** Phase 2: nothing changes for --idle seconds; samples the operator's process every second. */
export async function idlePhase(ctx: PhaseContext): Promise<{ t: number; p: ProcSample }[]> {
  log(`  idle ${ctx.opts.idleS} s`);
  const samples: { t: number; p: ProcSample }[] = [];
  const end = performance.now() + ctx.opts.idleS * 1000;
  while (performance.now() < end) {
    ctx.operator.check();
    const p = procSample(ctx.operator.pid);
    if (p) samples.push({ t: performance.now(), p });
    await sleep(Math.min(1000, Math.max(0, end - performance.now())));
  }
  return samples;
}

/** Phase 3: change every size (min..max round-robin) and wait until all converged again. */
export async function updatePhase(ctx: PhaseContext, names: string[]): Promise<PhaseFigures> {
  const { opts, tracker } = ctx;
  const nextSize = (s: number) => opts.resizeTo ?? (s >= opts.maxSize ? opts.minSize : s + 1);
  tracker.phase = 'update';
  for (const st of tracker.crs.values()) {
    Object.assign(st, {
      size: nextSize(st.size),
      sentAt: undefined,
      respondedAt: undefined,
      deploymentAt: undefined,
      deploymentReady: false,
      deploymentReadyAt: undefined,
      crReady: false,
      crReadyAt: undefined,
    });
  }
  log(`  patching every size`);
  const t1 = performance.now();
  await tracker.sendAll(names, (name) => {
    const st = tracker.crs.get(name)!;
    return ctx.client.request(
      'PATCH',
      `${crPath(st.namespace)}/${name}`,
      { spec: { size: st.size } },
      'application/merge-patch+json',
    );
  });
  const fig = tracker.figures(t1, await tracker.waitConverged(t1, ctx.operator.check));
  log(
    `  update: all Deployments ${fig.allDeploymentsMs} ms, all Available ${fig.allDeploymentsAvailableMs} ms, statuses ${fig.allStatusMs} ms, p99 ${fig.latencyClientMs.p99} ms`,
  );
  await tracker.quiesce();
  return fig;
}

/** Phase 4: --single CRs one at a time on a quiet system (reaction latency without a queue). */
export async function singlePhase(ctx: PhaseContext): Promise<CrState[]> {
  const { opts, tracker } = ctx;
  tracker.phase = 'single';
  const singles: CrState[] = [];
  for (let i = 0; i < opts.single; i++) {
    const name = `single-${String(i).padStart(3, '0')}`;
    const st: CrState = {
      namespace: benchNamespaces(opts.namespaces)[0],
      size: opts.minSize,
      deploymentReady: false,
      crReady: false,
    };
    tracker.crs.set(name, st);
    singles.push(st);
    st.sentAt = performance.now();
    const r = await ctx.client.request('POST', crPath(st.namespace), crBody(opts, name, st.size));
    st.respondedAt = performance.now();
    if (r.status >= 300) throw new Error(`create ${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    const deadline = performance.now() + 30_000;
    while (st.deploymentAt === undefined && performance.now() < deadline) await sleep(2);
    await sleep(250);
  }
  return singles;
}
