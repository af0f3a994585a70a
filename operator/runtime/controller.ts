// A controller: one work queue, the event sources that fill it (through predicates and
// handlers), and the worker loop that drains it into a reconciler, with controller-runtime's
// result rules and metrics. A controller knows nothing about the type it reconciles.
import type { EventSource } from './cache/store';
import { TerminalError, type ReconcileResult } from './errors';
import type { EventHandler } from './handler';
import { nopLogger, type Logger } from './log';
import { admits, type Predicate } from './predicate';
import { ExponentialBackoff, WorkQueue, type WorkQueueMetrics } from './workqueue';

/** Metric hooks of a controller's workers (controller_runtime_* metrics). */
export interface ControllerMetrics {
  setMaxConcurrent(n: number): void;
  activeWorkers(delta: number): void;
  reconciled(result: ReconcileOutcome, seconds: number): void;
}

export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

/** Reconciles the object with key "namespace/name" (or "name"). */
export type ReconcileHandler = (key: string) => Promise<ReconcileResult | void>;

export interface RunWorkersOptions {
  metrics?: ControllerMetrics;
  /** Default: the queue's logger. */
  log?: Logger;
}

/**
 * Runs `workers` concurrent loops that get a key from `queue`, call `handler(key)` and apply
 * its result the controller-runtime way: a TerminalError → logged, forget (no retry); any
 * other throw → addRateLimited; `{requeue: true}` → addRateLimited; `{requeueAfter}` → forget
 * + addAfter; otherwise forget. Resolves when the queue is shut down and every loop has
 * finished its current key.
 */
export async function runWorkers(
  queue: WorkQueue,
  workers: number,
  handler: ReconcileHandler,
  options: RunWorkersOptions = {},
): Promise<void> {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be an integer ≥ 1, got ${workers}`);
  const metrics = options.metrics;
  const log = options.log ?? queue.log;
  metrics?.setMaxConcurrent(workers);
  const loop = async () => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      metrics?.activeWorkers(1);
      const started = performance.now();
      let outcome: ReconcileOutcome;
      try {
        const result = (await handler(key)) ?? {};
        if (result.requeueAfter !== undefined && result.requeueAfter > 0) {
          queue.forget(key);
          queue.addAfter(key, result.requeueAfter);
          outcome = 'requeue_after';
        } else if (result.requeue) {
          queue.addRateLimited(key);
          outcome = 'requeue';
        } else {
          queue.forget(key);
          outcome = 'success';
        }
      } catch (err) {
        // The object by namespace and name, as controller-runtime logs it (keys are namespace/name).
        const slash = key.indexOf('/');
        const object = slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
        if (err instanceof TerminalError) {
          log.error('reconcile failed with a terminal error, not retrying', err, { key, ...object });
          queue.forget(key);
        } else {
          log.error('reconcile failed', err, { key, ...object, retries: queue.numRequeues(key) });
          queue.addRateLimited(key);
        }
        outcome = 'error';
      } finally {
        metrics?.activeWorkers(-1);
        queue.done(key);
      }
      metrics?.reconciled(outcome, (performance.now() - started) / 1000);
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

export interface ControllerOptions {
  /** Controller name: the queue name and the `controller` label of metrics and logs. */
  name: string;
  reconcile: ReconcileHandler;
  /** Concurrent reconciles (one key is never reconciled twice at once). */
  workers: number;
  log?: Logger;
  queueMetrics?: WorkQueueMetrics;
  /** Called when the workers start, so a standby replica shows no controller series (as controller-runtime). */
  metrics?: () => ControllerMetrics;
  backoff?: ExponentialBackoff;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly workers: number;
  private readonly log: Logger;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ControllerOptions) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.name))
      throw new Error(`controller name "${options.name}" must be a DNS label`);
    if (!Number.isInteger(options.workers) || options.workers < 1)
      throw new Error(`workers must be an integer ≥ 1, got ${options.workers}`);
    this.name = options.name;
    this.workers = options.workers;
    this.log = (options.log ?? nopLogger).child({ controller: options.name });
    this.queue = new WorkQueue({
      name: options.name,
      metrics: options.queueMetrics,
      log: options.log,
      backoff: options.backoff,
    });
  }

  /**
   * Feeds events of `source` that pass every predicate to `handler`, which queues keys. Watch
   * before start(): events arriving earlier are queued and wait for the workers.
   */
  watch<T>(source: EventSource<T>, handler: EventHandler<T>, ...predicates: Predicate<T>[]): this {
    const q = this.queue;
    source.addEventHandler({
      onAdd: (obj) => admits(predicates, 'create', obj) && handler.create?.(obj, q),
      onUpdate: (old, cur) => admits(predicates, 'update', cur, old) && handler.update?.(old, cur, q),
      onDelete: (obj) => admits(predicates, 'delete', obj) && handler.delete?.(obj, q),
    });
    return this;
  }

  /** Starts the workers (once); resolves when they have all stopped after shutDown(). */
  start(): Promise<void> {
    this.running ??= runWorkers(this.queue, this.workers, this.options.reconcile, {
      metrics: this.options.metrics?.(),
      log: this.log,
    });
    return this.running;
  }

  /** Stops taking work; resolves when in-flight reconciles have finished. */
  shutDown(): Promise<void> {
    this.queue.shutDown();
    return this.running ?? this.queue.drain();
  }
}
