// Command line of the comparison: bench:operator's options (bench/operator/options.ts) with
// the comparison's defaults in front, so that any of them can be overridden.
import { parseOptions, type Options } from '../operator/options';

/**
 * N = 1000, 2 runs, 120 s idle, ours with the synthesized Deployment's 4 workers; every Memcached
 * created at size 2 with port 11211, resized to 3.
 */
export const COMPARE_DEFAULTS = [
  '--n',
  '1000',
  '--runs',
  '2',
  '--idle',
  '120',
  '--workers',
  '4',
  '--min-size',
  '2',
  '--max-size',
  '2',
  '--resize-to',
  '3',
  '--container-port',
  '11211',
  '--single',
  '0',
  '--no-limits',
  '--no-leader-elect',
  '--out',
  'bench/results/compare.json',
];

/** Parses the comparison's command line (later arguments win over the defaults); throws with the reason. */
export function parseCompareOptions(args: readonly string[]): Options {
  const opts = parseOptions([...COMPARE_DEFAULTS, ...args]);
  if (opts.workers.length !== 1)
    throw new Error('--workers takes one value in a comparison (ours; the Go sample keeps its 1)');
  const sizes = [opts.minSize, opts.maxSize, opts.resizeTo ?? opts.minSize];
  if (sizes.some((s) => s < 1 || s > 3)) throw new Error("sizes must be 1..3: the Go sample's CRD bounds them");
  return opts;
}

/** Which operator goes first in run `run` (1-based): they alternate, `a` first in odd runs. */
export function order<T>(run: number, a: T, b: T): T[] {
  return run % 2 === 1 ? [a, b] : [b, a];
}
