// The project's one polling loop. The control plane launcher waits with it for its
// components, the benchmark for the operator, and the tests (through test/support/wait.ts)
// for objects, pods and processes.

export interface WaitOptions {
  /** give up after this long (default 30 s) */
  timeoutMs?: number;
  /** pause between attempts (default 200 ms) */
  intervalMs?: number;
  /** when set, the pause doubles after every attempt, from intervalMs up to this */
  maxIntervalMs?: number;
  /** runs before every attempt; throwing ends the wait at once (e.g. a process it needs has exited) */
  check?: () => void;
  /** text appended to the timeout error, e.g. the last lines of the logs involved */
  details?: () => string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` until it returns something other than undefined, null or false and resolves
 * with that value. A probe that throws counts as "not yet"; on timeout the error names
 * `what` and the last error (or the last value) the probe gave.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let delay = opts.intervalMs ?? 200;
  if (!(timeoutMs >= 0) || !(delay > 0))
    throw new Error(`waitFor ${what}: bad timeoutMs ${timeoutMs} or intervalMs ${delay}`);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let threw: boolean;
  for (;;) {
    opts.check?.();
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      last = value;
      threw = false;
    } catch (err) {
      last = err;
      threw = true;
    }
    if (Date.now() >= deadline) {
      const why = threw ? (last instanceof Error ? last.message : String(last)) : `last result: ${String(last)}`;
      const details = opts.details?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${why})${details ? `\n${details}` : ''}`);
    }
    await sleep(delay);
    if (opts.maxIntervalMs !== undefined) delay = Math.min(delay * 2, opts.maxIntervalMs);
  }
}

/** Split times for a start-up: each call of `lap()` returns the ms since the previous one; `total()` since the start. */
export function stopwatch(): { lap(): number; total(): number } {
  const t0 = Date.now();
  let t = t0;
  return {
    lap() {
      const now = Date.now();
      const d = now - t;
      t = now;
      return d;
    },
    total: () => Date.now() - t0,
  };
}
