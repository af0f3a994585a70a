// What Flux's health checks make of an object: runs tools/flux/kstatus (built into
// .cache/flux-bin by scripts/flux-build.sh, one of `npm test`'s prerequisites), which computes
// it with the kstatus library Flux's kustomize-controller uses.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../cluster/binaries';
import { run } from './sys';

const BIN = join(process.env.FLUX_BIN_DIR ?? join(repoRoot(), '.cache', 'flux-bin'), 'kstatus');

export interface KStatus {
  /** InProgress, Failed, Current, Terminating, NotFound or Unknown */
  status: string;
  message: string;
}

/** kstatus of each object, in order. Fails if the command is missing or refuses an object. */
export async function kstatus(objects: readonly object[]): Promise<KStatus[]> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build it with \`bash scripts/flux-build.sh\``);
  const r = await run(BIN, [], { input: JSON.stringify(objects) });
  if (r.code !== 0) throw new Error(`kstatus exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as KStatus);
}
