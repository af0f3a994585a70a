// Timing helpers of the work-queue and controller tests.

/** Resolves after the current I/O callbacks (lets queued promise work run). */
export const tick = () => new Promise((r) => setImmediate(r));

/** A promise with its resolve function (to hold a handler until the test releases it). */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}
