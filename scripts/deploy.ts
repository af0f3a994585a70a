// npm run deploy [-- --kubeconfig FILE] [--context NAME] [--dir DIR]
//
// Applies every file of dist/ (or DIR) to a cluster in one command, server-side, the way
// `kubectl apply --server-side -f dist/` would if kubectl could: that command resolves every
// object's kind before it applies anything, so on a cluster without the Memcached CRD the
// sample fails with `no matches for kind "Memcached"` and kubectl exits 1. Here, as Flux does:
//   1. Namespaces and CustomResourceDefinitions of every file;
//   2. `kubectl wait --for condition=established` on those CRDs;
//   3. everything else.
// kubectl does the applying (field manager `kubectl`, as a plain `kubectl apply --server-side`),
// so the result is the same as applying the files by hand in that order. Exit status: 0 when
// every object was applied, else kubectl's.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDist, type Manifest } from '../cluster/dist';
import { toKubectlStream } from '../cluster/operator-manifests';

const FIRST = new Set(['Namespace', 'CustomResourceDefinition']);

function parse(argv: string[]): { global: string[]; dir: string } {
  const global: string[] = [];
  let dir = 'dist';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.split(/=(.*)/s, 2);
    if (!['--kubeconfig', '--context', '--dir'].includes(flag)) {
      throw new Error(
        `unknown argument ${arg} (usage: npm run deploy -- [--kubeconfig FILE] [--context NAME] [--dir DIR])`,
      );
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--kubeconfig' || flag === '--context') global.push(`${flag}=${value}`);
    else dir = value;
  }
  return { global, dir: resolve(dir) };
}

/** Runs kubectl with the global flags, `objects` (if any) as a JSON List on stdin; throws on a non-zero exit. */
function run(global: string[], args: string[], objects?: Manifest[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn('kubectl', [...global, ...args], { stdio: ['pipe', 'inherit', 'inherit'] });
    child.once('error', fail);
    child.once('close', (code) =>
      code === 0
        ? done()
        : fail(Object.assign(new Error(`kubectl ${args[0]} failed (exit ${code})`), { exitCode: code ?? 1 })),
    );
    // JSON, not YAML: kubectl reads YAML as 1.1, where a re-serialized unquoted `no` turns into false.
    child.stdin.end(objects ? toKubectlStream(objects) : '');
  });
}

async function main(): Promise<number> {
  const { global, dir } = parse(process.argv.slice(2));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.k8s.yaml'))
    .sort();
  if (!files.length) throw new Error(`${dir} holds no *.k8s.yaml: run \`npm run synth\` first`);
  const objects = files.flatMap((f) => loadDist(f, dir));
  const first = objects.filter((o) => FIRST.has(o.kind));
  const rest = objects.filter((o) => !FIRST.has(o.kind));
  console.log(`deploy: ${objects.length} objects from ${files.length} files in ${dir}`);
  const apply = ['apply', '--server-side', '-f', '-'];
  if (first.length) await run(global, apply, first);
  const crds = first.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => `crd/${o.metadata.name}`);
  if (crds.length) await run(global, ['wait', '--for', 'condition=established', '--timeout=60s', ...crds]);
  if (rest.length) await run(global, apply, rest);
  return 0;
}

process.exitCode = await main().catch((err: Error & { exitCode?: number }) => {
  console.error(`deploy: ${err.message}`);
  return err.exitCode ?? 2;
});
