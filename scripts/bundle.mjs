// One esbuild configuration for every bundle the project makes: the TypeScript entry and all
// its dependencies in one ES module for Node (used by run-ts.mjs and for the operator image).
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { build } from 'esbuild';

/**
 * The module the operator runtime imports lazily, only for kubeconfigs its own loader does
 * not handle (operator/runtime/client/access.ts): @kubernetes/client-node and undici.
 */
const CLIENT_NODE_MODULE = /(^|[\\/])client-node-module(\.ts)?$/;

/**
 * Bundles `entry` into `outfile`; resolves to the list of input files (for staleness checks).
 *
 * `separateClientNode`: a dynamic import of the runtime's client-node module becomes a file of
 * its own next to `outfile` (`<name>-client-node.mjs`), read only when imported. Bundled
 * inline, esbuild would keep it lazy (not evaluated) but Node would still load and parse its
 * source at startup: measured +29 MiB of resident memory for the operator. `outfile` alone
 * still runs for every kubeconfig the lean loader handles.
 *
 * `sourcesContent` false: source maps without the sources, only the mappings (stack traces still
 * name the TypeScript files and lines). `node --enable-source-maps` (the image's command) holds
 * the loaded maps in memory: measured -13 MiB of resident memory for the operator.
 */
export async function bundle(entry, outfile, root, { separateClientNode = false, sourcesContent = true } = {}) {
  // package.json's version is the one version: the operator's --version and start log read it
  // from here (operator/runtime/version.ts), since the image ships the bundle without package.json.
  const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
  const options = {
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
    sourcesContent,
    logLevel: 'warning',
  };
  const sideFile = `${basename(outfile, extname(outfile))}-client-node.mjs`;
  let sideEntry;
  const plugins = separateClientNode
    ? [
        {
          name: 'separate-client-node',
          setup(b) {
            b.onResolve({ filter: CLIENT_NODE_MODULE }, (args) => {
              if (args.kind !== 'dynamic-import') return undefined;
              sideEntry = resolve(args.resolveDir, args.path.endsWith('.ts') ? args.path : `${args.path}.ts`);
              return { path: `./${sideFile}`, external: true };
            });
          },
        },
      ]
    : [];
  const result = await build({ ...options, entryPoints: [entry], outfile, plugins });
  const inputs = Object.keys(result.metafile.inputs);
  oneByteSource(outfile);
  if (sideEntry) {
    const side = await build({ ...options, entryPoints: [sideEntry], outfile: join(dirname(outfile), sideFile) });
    inputs.push(...Object.keys(side.metafile.inputs));
    oneByteSource(join(dirname(outfile), sideFile));
  }
  return [...new Set(inputs), 'package.json'];
}

/**
 * Rewrites the few non-ASCII characters left in `file` as `\uXXXX`. V8 keeps a script's source
 * in memory for as long as the script lives, and Node reads a source file of more than about
 * 1 MB (the operator's is 1.66 MB) into a string of one byte per character only when every
 * character is ASCII: one `µ` makes it UTF-16, two bytes per character (measured: 3.3 MB
 * instead of 1.66 MB; a Latin-1 character is enough, not only one above U+00FF). esbuild's
 * default ASCII charset escapes such characters in strings but leaves them in comments and
 * regular expression literals (the operator's: `µs` in the duration parser), where `\uXXXX`
 * means the same character.
 */
function oneByteSource(file) {
  const text = readFileSync(file, 'utf8');
  const escaped = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped !== text) writeFileSync(file, escaped);
}

// `node scripts/bundle.mjs <entry.ts> <outfile>`: a program to deploy (the operator image), so
// client-node goes into a file of its own and the source maps carry no sources (see bundle()).
if (import.meta.url === `file://${process.argv[1]}`) {
  const [entry, outfile] = process.argv.slice(2);
  await bundle(entry, outfile, process.cwd(), { separateClientNode: true, sourcesContent: false });
}
