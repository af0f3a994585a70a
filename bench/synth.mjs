#!/usr/bin/env node
// Synth benchmark: wall time (median/min/max) and peak RSS of every way to synthesize the
// charts, measured in the same run so the ratios hold on a noisy machine.
//   npm run bench:synth [-- --runs N]
// Prints a table and writes bench/results/synth.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const node = process.execPath;
const out = mkdtempSync(join(tmpdir(), 'bench-synth-'));
const env = { ...process.env, CDK8S_OUTDIR: join(out, 'dist'), CDK8S_CHECK_UPGRADE: 'false', NODE_OPTIONS: '' };

// The cdk8s template's default (`app: npx ts-node main.ts`, CommonJS, type-checked) run on
// this project's sources in a CommonJS copy of the tree.
const cjs = join(out, 'cjs');
mkdirSync(cjs);
for (const p of ['main.ts', 'constructs', 'imports']) {
  try {
    cpSync(join(root, p), join(cjs, p), { recursive: true });
  } catch {
    /* optional */
  }
}
symlinkSync(join(root, 'node_modules'), join(cjs, 'node_modules'));
writeFileSync(join(cjs, 'package.json'), '{"type":"commonjs"}\n');
// Constructs import their shell scripts and config templates as text (constructs/text-files.d.ts).
writeFileSync(
  join(cjs, 'text-hook.cjs'),
  "for (const ext of ['.sh', '.cfg']) require.extensions[ext] = (m, f) => { m.exports = require('node:fs').readFileSync(f, 'utf8'); };\n",
);
writeFileSync(
  join(cjs, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'CommonJS',
      moduleResolution: 'node',
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
    },
  }),
);

const variants = [
  {
    name: 'project synth (esbuild + node)',
    cmd: [node, join(root, 'scripts/run-ts.mjs'), join(root, 'main.ts')],
    cwd: root,
  },
  { name: 'npm run synth', cmd: ['npm', 'run', '--silent', 'synth'], cwd: root },
  {
    name: 'cdk8s synth (CLI)',
    cmd: [join(root, 'node_modules/.bin/cdk8s'), 'synth', '--no-check-upgrade'],
    cwd: root,
    env: { CDK8S_OUTDIR: undefined },
    outdir: true,
  },
  {
    name: 'template default: ts-node (type check)',
    cmd: [join(root, 'node_modules/.bin/ts-node'), '--files', '-r', './text-hook.cjs', 'main.ts'],
    cwd: cjs,
    runs: Math.max(3, Math.ceil(runs / 2)),
  },
];

function measure(v) {
  const times = [];
  const rss = [];
  const n = v.runs ?? runs;
  for (let i = 0; i < n + 1; i++) {
    const e = { ...env, ...(v.env ?? {}) };
    for (const [k, val] of Object.entries(e)) if (val === undefined) delete e[k];
    const args = v.outdir ? [...v.cmd.slice(1), '--output', join(out, 'cli')] : v.cmd.slice(1);
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', v.cmd[0], ...args], { cwd: v.cwd, env: e, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${v.name} failed:\n${r.stderr}`);
    if (i === 0) continue; // warm-up: file cache, esbuild binary
    times.push(ms);
    rss.push(Number(r.stderr.trim().split('\n').pop()) / 1024);
  }
  times.sort((a, b) => a - b);
  return {
    name: v.name,
    runs: n,
    medianMs: times[Math.floor(n / 2)],
    minMs: times[0],
    maxMs: times[n - 1],
    peakRssMiB: Math.max(...rss),
  };
}

const results = variants.map(measure);
const base = results[0].medianMs;
console.log(`synth benchmark: ${runs} runs (+1 warm-up), ${cpus().length} cores, Node ${process.version}`);
console.log('| variant | median s | min s | max s | peak RSS MiB | vs project |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(
    `| ${r.name} | ${(r.medianMs / 1000).toFixed(3)} | ${(r.minMs / 1000).toFixed(3)} | ${(r.maxMs / 1000).toFixed(3)} | ${r.peakRssMiB.toFixed(0)} | ${(r.medianMs / base).toFixed(1)}x |`,
  );
}
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/synth.json'),
  JSON.stringify(
    { date: new Date().toISOString(), commit, cores: cpus().length, node: process.version, results },
    null,
    2,
  ) + '\n',
);
rmSync(out, { recursive: true, force: true });
