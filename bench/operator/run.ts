// One run of the operator benchmark against the operator under test (subject.ts): a control
// plane of its own, the four phases, attribution from the audit log; always tears down.
import { parsePrometheus } from '../lib/stats';
import { API_SERIES } from './metrics';
import { log, type Options } from './options';
import { createPhase, idlePhase, singlePhase, snapshot, Tracker, updatePhase, type PhaseContext } from './phases';
import { runResult } from './report';
import { RunEnv, setUpCluster } from './setup';
import type { Subject } from './subject';
import type { RunResult } from './types';

/** One run: set up, the four phases, attribution; always tears down. */
export async function runOnce(
  opts: Options,
  subject: Subject,
  n: number,
  workers: number,
  run: number,
): Promise<RunResult> {
  const maxSize = Math.max(1, opts.maxSize, opts.resizeTo ?? 0);
  const nodes = opts.tier === 'api' ? 0 : (opts.nodes ?? Math.max(1, Math.ceil((n * maxSize) / 100)));
  const env = new RunEnv(nodes);
  try {
    log(
      `run ${run}: ${subject.name} N=${n} workers=${workers} tier=${opts.tier} nodes=${nodes}: starting control plane`,
    );
    await setUpCluster(opts, env, subject);
    const cp = env.cp!;
    const client = env.client!;
    const tracker = new Tracker(opts, client, subject.crReady);
    await tracker.watch(env.watchers);
    const operator = await subject.start(opts, env, n, workers, run);
    const ctx: PhaseContext = { opts, n, client, tracker, operator, apiserverMetrics: () => cp.apiserverMetrics() };
    const apiBefore = parsePrometheus(await cp.apiserverMetrics(), API_SERIES);

    const names = Array.from({ length: n }, (_, i) => `mc-${String(i).padStart(4, '0')}`);
    const s0 = await snapshot(ctx);
    const createFig = await createPhase(ctx, names);
    const s1 = await snapshot(ctx);
    const idleSamples = await idlePhase(ctx);
    const s2 = await snapshot(ctx);
    const updateFig = await updatePhase(ctx, names);
    const s3 = await snapshot(ctx);
    const singleStart = Date.now();
    const singles = await singlePhase(ctx);
    const singleEnd = Date.now();

    return await runResult({
      opts,
      n,
      workers,
      run,
      nodes,
      operator: subject.name,
      user: subject.user,
      loadStart: env.loadStart,
      controlPlaneStartMs: env.controlPlaneStartMs,
      operatorStartMs: operator.startMs,
      operatorStartedWall: operator.startedWall,
      auditLog: env.audit.logPath,
      limits: { ...operator.limits, stats: env.group?.stats() },
      snaps: [s0, s1, s2, s3],
      apiBefore,
      createFig,
      updateFig,
      idleSamples,
      singles,
      singleWindow: [singleStart, singleEnd],
    });
  } finally {
    await env.close();
  }
}
