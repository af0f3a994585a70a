// Prometheus metrics under controller-runtime / client-go names and labels, so dashboards
// built for Go operators work unchanged. The runtime pieces only see small hook interfaces.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { InformerMetrics } from './cache/reflector';
import type { LeaderElectionMetrics } from './manager/leader-election';
import type { ControllerMetrics, ReconcileOutcome } from './controller';
import type { InFlightStats, WorkQueueMetrics } from './workqueue';

/** controller-runtime's reconcile_time_seconds buckets. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5,
  1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
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

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.maxConcurrent = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });

    const queueLabels = ['name', 'controller'] as const;
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueLatency = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: queueLabels,
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    const inFlight = this.inFlight;
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. ' +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases',
      labelNames: queueLabels,
      registers,
      collect() {
        for (const [name, read] of inFlight) this.set({ name, controller: name }, read().unfinishedSeconds);
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: queueLabels,
      registers,
      collect() {
        for (const [name, read] of inFlight) this.set({ name, controller: name }, read().longestSeconds);
      },
    });

    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });

    this.informerLists = new Counter({
      name: 'informer_lists_total',
      help: 'Full lists done by informers (start, relist after 410 Gone)',
      labelNames: ['resource'],
      registers,
    });
    this.watchRestarts = new Counter({
      name: 'informer_watch_restarts_total',
      help: 'Informer watch restarts by reason (closed, timeout, watchdog, gone, error)',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerEvents = new Counter({
      name: 'informer_watch_events_total',
      help: 'Watch events received by informers by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)',
      labelNames: ['resource', 'type'],
      registers,
    });
    this.informerObjects = new Gauge({
      name: 'informer_cached_objects',
      help: 'Objects in the informer cache',
      labelNames: ['resource'],
      registers,
    });
  }

  /** Hooks for WorkQueue.runWorkers of controller `controller`; zero-initialises its series. */
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
