// A rate-limited work queue with client-go semantics: keys queued twice collapse into one, a
// key is never handed to two workers at once (a key re-added while being processed is marked
// dirty and queued again by done()), delayed adds, per-key exponential backoff.
// Two priorities, like controller-runtime's priority queue: 'high' keys (an object whose spec
// changed or that was just created) are handed out before 'normal' ones (status refreshes
// caused by owned objects and pods), so a burst of status work cannot delay a new object's
// first reconcile. Order within a priority is FIFO; adding a queued key with a higher priority
// moves it up; a lower priority never moves a key down. The worker loop that drains a queue
// is in controller.ts.
import { nopLogger, type Logger } from './log';

/** Metric hooks of a queue (see metrics.ts for the Prometheus implementation). */
export interface WorkQueueMetrics {
  add(): void;
  depth(n: number): void;
  /** Seconds a key waited in the queue before a worker got it. */
  queueDuration(seconds: number): void;
  /** Seconds between get() and done(). */
  workDuration(seconds: number): void;
  retry(): void;
  /** Called once by the queue so the sink can read in-flight work at scrape time. */
  trackInFlight(read: () => InFlightStats): void;
}

export interface InFlightStats {
  /** Sum of the ages of all keys being processed, in seconds. */
  unfinishedSeconds: number;
  /** Age of the longest-running key being processed, in seconds. */
  longestSeconds: number;
}

/** Per-key exponential backoff: base · 2^failures, capped (client-go ItemExponentialFailureRateLimiter). */
export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();

  constructor(
    readonly baseDelayMs = 5,
    readonly maxDelayMs = 1000 * 1000,
  ) {}

  /** The delay for the next retry of `key`; counts one more failure. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

export type Priority = 'high' | 'normal';

export interface WorkQueueOptions {
  /** Queue name (metrics, logs). */
  name: string;
  backoff?: ExponentialBackoff;
  metrics?: WorkQueueMetrics;
  log?: Logger;
}

export class WorkQueue {
  readonly name: string;
  private readonly backoff: ExponentialBackoff;
  private readonly metrics: WorkQueueMetrics | undefined;
  /** The logger the worker loop uses unless it is given another. */
  readonly log: Logger;
  /** Keys ready for a worker, in FIFO order (a Set: insertion-ordered and duplicate-free). */
  private readonly queue = new Set<string>();
  /** High-priority keys ready for a worker (handed out before `queue`), FIFO. */
  private readonly urgent = new Set<string>();
  /** Keys that need processing (queued, or re-added while being processed). */
  private readonly dirty = new Set<string>();
  /** Dirty keys being processed that were re-added with high priority. */
  private readonly dirtyUrgent = new Set<string>();
  /** Keys handed to a worker and not done yet → start time (performance.now()). */
  private readonly processing = new Map<string, number>();
  /** When each queued key was first added (for the queue duration metric). */
  private readonly addedAt = new Map<string, number>();
  /** Delayed adds: key → due time and timer; only the earliest due time is kept. */
  private readonly waiting = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private drainers: Array<() => void> = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.backoff = options.backoff ?? new ExponentialBackoff();
    this.metrics = options.metrics;
    this.log = options.log ?? nopLogger;
    this.metrics?.trackInFlight(() => this.inFlight());
  }

  /**
   * Queues `key` unless it is already queued (then a higher priority moves it up); a key being
   * processed is queued again after done(), with the highest priority it was added with.
   */
  add(key: string, priority: Priority = 'normal'): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      if (priority !== 'high') return;
      if (this.processing.has(key)) this.dirtyUrgent.add(key);
      else if (this.queue.delete(key)) {
        this.urgent.add(key);
      }
      return;
    }
    this.metrics?.add();
    this.dirty.add(key);
    if (this.processing.has(key)) {
      if (priority === 'high') this.dirtyUrgent.add(key);
      return;
    }
    this.enqueue(key, priority);
  }

  /** Adds `key` after `delayMs`; of several pending delayed adds of a key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const due = performance.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.waiting.set(key, { due, timer });
  }

  /** Adds `key` after its backoff delay (which doubles with each call until forget()). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retry();
    this.addAfter(key, this.backoff.when(key));
  }

  /** Resets the backoff of `key` (call after it was processed successfully). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  numRequeues(key: string): number {
    return this.backoff.retries(key);
  }

  /** Number of keys ready for a worker. */
  len(): number {
    return this.queue.size + this.urgent.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Waits for a key and marks it as being processed; the caller must call done(key).
   * Resolves undefined once the queue is shut down.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` as processed; if it was re-added meanwhile it is queued again. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.workDuration((performance.now() - started) / 1000);
    const urgent = this.dirtyUrgent.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key, urgent ? 'high' : 'normal');
    if (this.processing.size === 0) {
      for (const resolve of this.drainers) resolve();
      this.drainers = [];
    }
  }

  /**
   * Stops handing out work: pending get() calls resolve undefined, later adds are ignored and
   * delayed adds are cancelled. Keys being processed finish normally (see drain()).
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  /** Resolves when no key is being processed. */
  drain(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  private enqueue(key: string, priority: Priority): void {
    (priority === 'high' ? this.urgent : this.queue).add(key);
    if (!this.addedAt.has(key)) this.addedAt.set(key, performance.now());
    const getter = this.getters.shift();
    if (getter) getter(this.take());
    else this.metrics?.depth(this.len());
  }

  /** Moves the first queued key (high priority first) to processing. */
  private take(): string | undefined {
    const from = this.urgent.size > 0 ? this.urgent : this.queue;
    const next = from.values().next();
    if (next.done) return undefined;
    const key = next.value;
    from.delete(key);
    this.dirty.delete(key);
    const now = performance.now();
    this.processing.set(key, now);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics?.queueDuration((now - added) / 1000);
    this.metrics?.depth(this.len());
    return key;
  }

  private inFlight(): InFlightStats {
    const now = performance.now();
    let unfinished = 0;
    let longest = 0;
    for (const started of this.processing.values()) {
      const age = (now - started) / 1000;
      unfinished += age;
      longest = Math.max(longest, age);
    }
    return { unfinishedSeconds: unfinished, longestSeconds: longest };
  }
}
