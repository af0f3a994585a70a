// `npm run bundle`: the operator as an OLM bundle. The same configuration as main.ts
// (stack.yaml or STACK_CONFIG) goes through the same constructs; the result replaces bundle/
// (or BUNDLE_OUTDIR) only when everything was built: it is written to a staging directory
// next to it and swapped in with renames, so a failure leaves the previous bundle untouched.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadStackConfig } from './constructs/config';
import { renderBundle } from './constructs/olm-bundle';
import { ConfigError } from './constructs/validation';

/** Writes the bundle's files into `outdir`, replacing it as a whole. */
export function writeBundle(files: Map<string, string>, outdir: string): void {
  const parent = dirname(outdir);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, '.bundle-'));
  const old = `${staging}.old`;
  try {
    for (const [rel, text] of files) {
      mkdirSync(dirname(join(staging, rel)), { recursive: true });
      writeFileSync(join(staging, rel), text);
    }
    let hadOld = true;
    try {
      renameSync(outdir, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      hadOld = false;
    }
    renameSync(staging, outdir);
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const outdir = resolve(process.env.BUNDLE_OUTDIR ?? 'bundle');
  try {
    writeBundle(renderBundle(loadStackConfig()), outdir);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`bundle failed: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}
