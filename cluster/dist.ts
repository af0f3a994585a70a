// The one reader of the synthesized manifests (dist/*.k8s.yaml, written by `npm run synth`):
// the operator launcher takes the Deployment's command and env from them, and tests apply
// them (through test/support/dist.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Manifest = Record<string, any>;

/** dist/ of the repository (tests, the benchmark and the CLI run from the repository root). */
export function distDir(): string {
  return resolve('dist');
}

/**
 * Every object of one synthesized file, in file order: `name` is a chart ('redis-ha') or a
 * file name ('redis-ha.k8s.yaml'). Fails with the fix when the file was not synthesized.
 */
export function loadDist(name: string, dir = distDir()): Manifest[] {
  const file = join(dir, name.endsWith('.yaml') ? name : `${name}.k8s.yaml`);
  if (!existsSync(file)) throw new Error(`${file} does not exist: run \`npm run synth\` first`);
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null && o !== undefined);
}
