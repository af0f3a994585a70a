// One esbuild configuration for every bundle the project makes: the TypeScript entry and all
// its dependencies in one ES module for Node (used by run-ts.mjs and for the operator image).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

/** Bundles `entry` into `outfile`; resolves to the list of input files (for staleness checks). */
export async function bundle(entry, outfile, root) {
  // package.json's version is the one version: the operator's --version and start log read it
  // from here (operator/runtime/version.ts), since the image ships the bundle without package.json.
  const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    absWorkingDir: root,
    // Shell scripts and config templates the constructs import (constructs/text-files.d.ts).
    loader: { '.sh': 'text', '.cfg': 'text' },
    define: { __OPERATOR_VERSION__: JSON.stringify(version) },
    // CommonJS dependencies bundled into an ES module still call require() for builtins.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    metafile: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return [...Object.keys(result.metafile.inputs), 'package.json'];
}

// `node scripts/bundle.mjs <entry.ts> <outfile>`
if (import.meta.url === `file://${process.argv[1]}`) {
  const [entry, outfile] = process.argv.slice(2);
  await bundle(entry, outfile, process.cwd());
}
