#!/usr/bin/env node
// Runs a TypeScript entry point without a type check (type checking is `npm run compile`'s
// job). esbuild bundles the entry and its dependencies into one file under .build/, which is
// reused while none of its inputs changed; V8's compile cache keeps the parsed bundle on disk.
// Together they make a warm `npm run synth` mostly the time cdk8s itself needs.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');
const outdir = resolve(root, '.build');
// Named after the entry's path, so that entries sharing a file name (main.ts) do not share a bundle.
const name = relative(root, resolve(entry)).replace(/\.ts$/, '').replace(/[\\/]/g, '-');
const outfile = resolve(outdir, `${name}.mjs`);
const stampFile = resolve(outdir, `${name}.inputs.json`);

if (!upToDate()) await rebuild();
module.enableCompileCache?.(resolve(outdir, 'v8-cache'));
process.argv = [process.argv[0], outfile, ...rest];
await import(pathToFileURL(outfile).href);

/** True when the bundle exists and none of the files it was built from changed. */
function upToDate() {
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (stamp.entry !== resolve(entry)) return false;
    return Object.entries(stamp.inputs).every(([f, m]) => statSync(resolve(root, f)).mtimeMs === m);
  } catch {
    return false;
  }
}

async function rebuild() {
  const { bundle } = await import('./bundle.mjs');
  mkdirSync(outdir, { recursive: true });
  const inputs = await bundle(resolve(entry), outfile, root);
  const stamp = Object.fromEntries(inputs.map((f) => [f, statSync(resolve(root, f)).mtimeMs]));
  writeFileSync(stampFile, JSON.stringify({ entry: resolve(entry), inputs: stamp }));
}
