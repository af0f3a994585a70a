// Prometheus metrics under controller-runtime / client-go names and labels, so dashboards
// built for Go operators work unchanged. The runtime pieces only see small hook interfaces.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { InformerMetrics } from './cache/reflector';
import type { LeaderElectionMetrics } from './manager/leader-election';
import type { ControllerMetrics, ReconcileOutcome } from './controller';
import type { InFlightStats, WorkQueueMetrics } from './workqueue';

/** controller-runtime's reconcile_time_seconds buckets. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** controller-runtime's workqueue latency buckets: 10 ns … 1000 s. */
const QUEUE_BUCKETS = exponentialBuckets(10e-9, 10, 12);
const RESULTS: ReconcileOutcome[] = ['success', 'error', 'requeue', 'requeue_after'];

export class RuntimeMetrics {
  readonly registry: Registry;

  private readonly reconcileTotal: Counter<'controller' | 'result'>;
  private readonly reconcileErrors: Counter<'controller'>;
  private readonly reconcileTime: Histogram<'controller'>;
  private readonly maxConcurrent: Gauge<'controller'>;
  private readonly activeWorkers: Gauge<'controller'>;

  private readonly queueDepth: Gauge<'name' | 'controller'>;
  private readonly queueAdds: Counter<'name' | 'controller'>;
  private readonly queueLatency: Histogram<'name' | 'controller'>;
  private readonly workDuration: Histogram<'name' | 'controller'>;
  private readonly retries: Counter<'name' | 'controller'>;
  private readonly inFlight = new Map<string, () => InFlightStats>();

  private readonly leaderStatus: Gauge<'name'>;

  private readonly informerLists: Counter<'resource'>;
  private readonly watchRestarts: Counter<'resource' | 'reason'>;
  private readonly informerEvents: Counter<'resource' | 'type'>;
  private readonly informerObjects: Gauge<'resource'>;

  /** @param options.defaultMetrics  register prom-client's process_* / nodejs_* metrics (default true) */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });
    const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers });

    this.reconcileTotal = counter(
      'controller_runtime_reconcile_total',
      'Total number of reconciliations per controller',
      ['controller', 'result'],
    );
    this.reconcileErrors = counter(
      'controller_runtime_reconcile_errors_total',
      'Total number of reconciliation errors per controller',
      ['controller'],
    );
    this.reconcileTime = histogram(
      'controller_runtime_reconcile_time_seconds',
      'Length of time per reconciliation per controller',
      ['controller'],
      RECONCILE_BUCKETS,
    );
    this.maxConcurrent = gauge(
      'controller_runtime_max_concurrent_reconciles',
      'Maximum number of concurrent reconciles per controller',
      ['controller'],
    );
    this.activeWorkers = gauge('controller_runtime_active_workers', 'Number of currently used workers per controller', [
      'controller',
    ]);

    const queueLabels = ['name', 'controller'] as const;
    this.queueDepth = gauge('workqueue_depth', 'Current depth of workqueue', queueLabels);
    this.queueAdds = counter('workqueue_adds_total', 'Total number of adds handled by workqueue', queueLabels);
    this.queueLatency = histogram(
      'workqueue_queue_duration_seconds',
      'How long in seconds an item stays in workqueue before being requested',
      queueLabels,
      QUEUE_BUCKETS,
    );
    this.workDuration = histogram(
      'workqueue_work_duration_seconds',
      'How long in seconds processing an item from workqueue takes',
      queueLabels,
      QUEUE_BUCKETS,
    );
    this.retries = counter('workqueue_retries_total', 'Total number of retries handled by workqueue', queueLabels);
    const inFlight = this.inFlight;
    const inFlightGauge = (name: string, help: string, pick: (stats: InFlightStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: queueLabels,
        registers,
        collect() {
          for (const [queue, read] of inFlight) this.set({ name: queue, controller: queue }, pick(read()));
        },
      });
    inFlightGauge(
      'workqueue_unfinished_work_seconds',
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases',
      (stats) => stats.unfinishedSeconds,
    );
    inFlightGauge(
      'workqueue_longest_running_processor_seconds',
      'How many seconds has the longest running processor for workqueue been running',
      (stats) => stats.longestSeconds,
    );

    this.leaderStatus = gauge(
      'leader_election_master_status',
      'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      ['name'],
    );

    this.informerLists = counter(
      'informer_lists_total',
      'Full lists done by informers (start, relist after 410 Gone)',
      ['resource'],
    );
    this.watchRestarts = counter(
      'informer_watch_restarts_total',
      'Informer watch restarts by reason (closed, timeout, watchdog, gone, error)',
      ['resource', 'reason'],
    );
    this.informerEvents = counter(
      'informer_watch_events_total',
      'Watch events received by informers by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)',
      ['resource', 'type'],
    );
    this.informerObjects = gauge('informer_cached_objects', 'Objects in the informer cache', ['resource']);
  }

  /** Hooks for the worker loop of controller `controller` (controller.ts); zero-initialises its series. */
  controller(controller: string): ControllerMetrics {
    for (const result of RESULTS) this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    this.activeWorkers.set({ controller }, 0);
    return {
      setMaxConcurrent: (n) => this.maxConcurrent.set({ controller }, n),
      activeWorkers: (delta) => this.activeWorkers.inc({ controller }, delta),
      reconciled: (result, seconds) => {
        this.reconcileTotal.inc({ controller, result });
        if (result === 'error') this.reconcileErrors.inc({ controller });
        this.reconcileTime.observe({ controller }, seconds);
      },
    };
  }

  /** Hooks for a WorkQueue; like controller-runtime, `name` is used for both name and controller labels. */
  workqueue(name: string): WorkQueueMetrics {
    const labels = { name, controller: name };
    this.queueDepth.set(labels, 0);
    this.queueAdds.inc(labels, 0);
    this.retries.inc(labels, 0);
    return {
      add: () => this.queueAdds.inc(labels),
      depth: (n) => this.queueDepth.set(labels, n),
      queueDuration: (s) => this.queueLatency.observe(labels, s),
      workDuration: (s) => this.workDuration.observe(labels, s),
      retry: () => this.retries.inc(labels),
      trackInFlight: (read) => void this.inFlight.set(name, read),
    };
  }

  /** Hooks for a LeaderElector; `name` is the lease name. */
  leaderElection(name: string): LeaderElectionMetrics {
    this.leaderStatus.set({ name }, 0);
    return { setLeader: (leader) => this.leaderStatus.set({ name }, leader ? 1 : 0) };
  }

  /** Hooks for an Informer; `resource` is e.g. "memcacheds.cache.example.com" or "pods". */
  informer(resource: string): InformerMetrics {
    return {
      listed: () => this.informerLists.inc({ resource }),
      watchRestarted: (reason) => this.watchRestarts.inc({ resource, reason }),
      event: (type) => this.informerEvents.inc({ resource, type }),
      objects: (n) => this.informerObjects.set({ resource }, n),
    };
  }
}
