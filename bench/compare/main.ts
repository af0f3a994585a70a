// Our operator against the operator-sdk Go sample, through the same harness (bench/operator/):
//
//   npm run bench:compare -- [--n 1000] [--runs 2] [--idle 120] [--workers 16] [any bench:operator option]
//
// Builds the Go sample first (scripts/anchor-build.sh: a copy of the anchor folder compiled in
// .cache/, nothing of it in the project), then for each run starts a fresh control plane per
// operator, alternating which goes first (run 1: ours then Go, run 2: Go then ours, ...). Each
// operator runs under its own ServiceAccount with its own CRD and RBAC; both get the same
// Memcached objects (spec.size and spec.containerPort: the Go CRD has no port default), created
// at size 2 and resized to 3 (the Go CRD allows 1..3). Neither runs under CPU/memory limits or
// elects a leader (the Go manager cannot out of cluster). The Go sample keeps its one worker;
// ours runs --workers. Prints the table of docs/benchmarks.md with ratios ours/Go, the targets,
// requests by verb and resource; writes every figure to bench/results/compare.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { findBinaries } from '../../cluster/controlplane';
import { round } from '../lib/stats';
import { log, USAGE, type Options } from '../operator/options';
import { runOnce } from '../operator/run';
import { ours } from '../operator/subject';
import type { RunResult } from '../operator/types';
import { buildGoOperator, goSample } from './go-operator';
import { COMPARE_DEFAULTS, order, parseCompareOptions } from './options';
import { clientRows, comparisonRows, markdown, targetChecks, targetLines, verbResourceRows } from './table';

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function report(opts: Options, n: number, runs: RunResult[]) {
  const o = runs.filter((r) => r.n === n && r.operator === 'ours');
  const g = runs.filter((r) => r.n === n && r.operator === 'go');
  return {
    n,
    runs: { ours: o.length, go: g.length },
    rows: comparisonRows(o, g, opts.idleS),
    targets: targetChecks(o, g),
    byVerbResource: {
      create: verbResourceRows(o, g, 'create'),
      idle: verbResourceRows(o, g, 'idle'),
      update: verbResourceRows(o, g, 'update'),
    },
    otherClients: { create: clientRows(o, g, 'create'), update: clientRows(o, g, 'update') },
  };
}

async function main(args: string[]): Promise<void> {
  let opts: Options;
  try {
    opts = parseCompareOptions(args);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE.replace('bench/operator/main.ts', 'bench/compare/main.ts')}`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    console.log(`npm run bench:compare -- [bench:operator options]; defaults: ${COMPARE_DEFAULTS.join(' ')}\n${USAGE}`);
    return;
  }
  const onSignal = () => process.exit(130); // exit hooks kill the control plane and the operator
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  findBinaries(opts.tier);
  buildGoOperator();
  const about = {
    date: new Date().toISOString(),
    commit: git(['rev-parse', '--short', 'HEAD']),
    uncommittedChanges: git([
      'status',
      '--porcelain',
      '--',
      'operator',
      'constructs',
      'bench',
      'cluster',
      ':!bench/results',
    ])
      .split('\n')
      .filter(Boolean),
    command: `npm run bench:compare -- ${args.join(' ')}`.trim(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      memGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      kernel: release(),
      loadavgAtStart: loadavg().map((x) => round(x, 2)),
    },
  };
  log(
    `compare: commit ${about.commit}, ${opts.namespaces} namespace(s), ${about.machine.cores} cores, load ${about.machine.loadavgAtStart.join(' ')}`,
  );
  const runs: RunResult[] = [];
  const errors: { operator: string; n: number; run: number; error: string }[] = [];
  const write = () => {
    mkdirSync(dirname(opts.out), { recursive: true });
    const { help: _h, keepGoing: _k, ...options } = opts;
    writeFileSync(
      opts.out,
      JSON.stringify(
        {
          ...about,
          options: { ...options, out: undefined },
          comparison: opts.ns.map((n) => report(opts, n, runs)),
          runs,
          errors,
        },
        null,
        2,
      ) + '\n',
    );
  };
  for (const n of opts.ns) {
    for (let run = 1; run <= opts.runs; run++) {
      for (const subject of order(run, ours, goSample)) {
        try {
          runs.push({
            ...(await runOnce(opts, subject, n, subject === ours ? opts.workers[0] : 1, run)),
            operator: subject.name,
          });
        } catch (err) {
          const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
          log(`run ${run} of ${subject.name} failed: ${msg}`);
          errors.push({ operator: subject.name, n, run, error: msg });
          if (!opts.keepGoing) throw err;
        }
        write();
      }
    }
  }
  write();
  for (const n of opts.ns) {
    const r = report(opts, n, runs);
    console.log(
      `\nN = ${n}: ours (${opts.workers[0]} workers) vs the operator-sdk Go sample (1 worker), sizes ${opts.minSize} → ${opts.resizeTo ?? 'next'}, medians of ${r.runs.ours} / ${r.runs.go} runs, load ${about.machine.loadavgAtStart[0]} at start`,
    );
    console.log(markdown(`N = ${n}`, r.rows));
    console.log('\ntargets:');
    console.log(targetLines(r.targets).join('\n'));
    for (const phase of ['create', 'idle', 'update'] as const) {
      console.log(`\noperator requests by verb and resource, ${phase} phase (audit log, medians)`);
      console.log(markdown('verb resource', r.byVerbResource[phase]));
    }
    for (const phase of ['create', 'update'] as const) {
      console.log(`\nrequests of the other API clients, ${phase} phase (audit log, medians; the busiest 8)`);
      console.log(markdown('client', r.otherClients[phase]));
    }
  }
  for (const e of errors) console.log(`\n${e.operator} run ${e.run} (N=${e.n}) failed: ${e.error.split('\n')[0]}`);
  log(`wrote ${opts.out}`);
  if (errors.length) process.exitCode = 1;
}

await main(process.argv.slice(2));
