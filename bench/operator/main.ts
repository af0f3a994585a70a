// Operator benchmark: the Memcached operator (exactly the synthesized command, under its own
// ServiceAccount and RBAC from dist/) against a dedicated test control plane per run.
//
//   npm run bench:operator -- [options]      (--help lists them; docs/benchmarks.md explains them)
//
// Each run (setup.ts): start a control plane with kube-apiserver audit logging (every request,
// Metadata level), install Namespace/CRD/RBAC with kubectl, start the operator; then the
// phases (phases.ts):
//   1. create N Memcached objects at once (sizes 1..3 round-robin) and wait until every
//      Deployment exists with the right replicas and is Available, and every Memcached reports
//      Available (api tier: until every Deployment exists and every status is written);
//   2. let it sit for --idle seconds with nothing changing;
//   3. change every size (1→2, 2→3, 3→1) and wait for the same again;
//   4. create --single objects one at a time on a quiet system.
// The operator runs under the CPU and memory limits of the synthesized Deployment (a cgroup of
// its own, as a container runtime would set up; --no-limits runs it unconstrained).
// The operator's requests come from the audit log (user = its ServiceAccount), cross-checked
// with kube-apiserver's apiserver_request_total for series only the operator writes
// (report.ts, which also prints tables of medians over runs and writes every figure to JSON).
// Benchmarks print figures; nothing here fails on speed.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { findBinaries } from '../../cluster/controlplane';
import { round } from '../lib/stats';
import { log, parseOptions, USAGE, type Options } from './options';
import { writeResults, type Provenance } from './report';
import { runOnce } from './run';
import { ours } from './subject';
import type { RunResult } from './types';

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(args: string[]): Promise<void> {
  let opts: Options;
  try {
    opts = parseOptions(args);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
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
  const about: Provenance = {
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--', 'operator', 'constructs', 'bench', 'cluster', ':!bench/results']),
    command: `node scripts/run-ts.mjs bench/operator/main.ts ${args.join(' ')}`.trim(),
    machine,
  };
  log(
    `commit ${about.commit}${about.dirty ? ' (+ uncommitted changes)' : ''}, ${machine.cores} cores, Node ${machine.node}`,
  );

  const runs: RunResult[] = [];
  const errors: { n: number; workers: number; run: number; error: string }[] = [];
  for (const n of opts.ns) {
    for (const workers of opts.workers) {
      for (let run = 1; run <= opts.runs; run++) {
        try {
          runs.push(await runOnce(opts, ours, n, workers, run));
        } catch (err) {
          const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
          log(`run failed: ${msg}`);
          errors.push({ n, workers, run, error: msg });
          if (!opts.keepGoing) throw err;
        }
        writeResults(opts, about, runs, errors, false);
      }
    }
  }
  writeResults(opts, about, runs, errors, true);
  log(`wrote ${opts.out}`);
  if (errors.length) process.exitCode = 1;
}

await main(process.argv.slice(2));
