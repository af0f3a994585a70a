// The manager runs everything a controller process needs besides its controllers: the probe
// and metrics servers, shared informers (one per resource and selector, started at once so a
// standby replica is warm and ready), leader election, signal handling and graceful shutdown.
// Controllers are registered with newController() and start working only while this process
// leads (or at once without leader election).
import { Informer } from '../cache/informer';
import { clusterAccess, type KubeAccess } from '../client/access';
import { loadClusterAccess } from '../client/kubeconfig-loader';
import { Controller, type ReconcileHandler } from '../controller';
import type { ManagerOptions } from '../flags';
import { createLogger, type LogFields, type Logger } from '../log';
import { RuntimeMetrics } from '../metrics';
import { resourceName, resourcePath, type KubeObject, type ResourceRef } from '../object';
import { startMetricsServer, startProbeServer, type ProbeServer } from './http';
import { defaultIdentity, LeaderElector } from './leader-election';

/** Time in-flight reconciles get to finish on SIGTERM; well inside a pod's 30 s grace. */
const DEFAULT_SHUTDOWN_GRACE_MS = 15_000;

export interface ManagerParams {
  /** The program's name: the logger name. */
  name: string;
  /** Parsed flags (parseManagerFlags). */
  options: ManagerOptions;
  /**
   * How to reach the API server: a ClusterAccess, or a client-node KubeConfig. Default: loaded
   * from the environment (KUBECONFIG, ~/.kube/config or in-cluster; client/kubeconfig-loader.ts).
   */
  kubeConfig?: KubeAccess;
  /** Default: a JSON logger named `name` at the flags' level. */
  log?: Logger;
  /** Default: a new registry with prom-client's default process metrics. */
  metrics?: RuntimeMetrics;
  /** Default: hostname_uuid. */
  identity?: string;
  /** Extra fields of the "starting" log line (e.g. the program's version, the operand image). */
  startupFields?: LogFields;
  shutdownGraceMs?: number;
  /** Informer watchdog (see Informer); default the informer's. */
  watchdogMs?: number;
}

export interface NewControllerOptions {
  name: string;
  reconcile: ReconcileHandler;
  /** Default: --max-concurrent-reconciles. */
  workers?: number;
}

export class Manager {
  readonly kubeConfig: KubeAccess;
  readonly options: ManagerOptions;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly identity: string;
  // One informer per resource, each of its own object type: TypeScript has no existential type,
  // and Informer<T> is invariant in T, so the map holds them untyped and informer<T>() re-types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly informers = new Map<string, Informer<any>>();
  private readonly controllers: Controller[] = [];
  private started = false;

  constructor(private readonly params: ManagerParams) {
    this.options = params.options;
    this.log = params.log ?? createLogger({ level: params.options.logLevel, name: params.name });
    this.metrics = params.metrics ?? new RuntimeMetrics({ defaultMetrics: true });
    this.identity = params.identity ?? defaultIdentity();
    this.kubeConfig = params.kubeConfig ?? loadClusterAccess();
  }

  /**
   * The shared informer of `resource` (and label selector) over the watched namespaces;
   * created on first use. Register informers and their indexes before start().
   */
  informer<T extends KubeObject = KubeObject>(
    resource: ResourceRef,
    selector: { labelSelector?: string; transform?(obj: KubeObject): T; metadataOnly?: boolean } = {},
  ): Informer<T> {
    // A metadata-only informer holds other objects than a full one: a cache of its own.
    const id = `${resourcePath(resource)}?${selector.labelSelector ?? ''}${selector.metadataOnly ? '#metadata' : ''}`;
    let informer = this.informers.get(id);
    if (!informer) {
      if (this.started) throw new Error(`informer for ${resourceName(resource)} requested after the manager started`);
      const name = resourceName(resource);
      informer = new Informer<T>({
        kubeConfig: this.kubeConfig,
        resource,
        namespaces: this.options.watchNamespaces,
        labelSelector: selector.labelSelector,
        transform: selector.transform, // only the first requester's; default: drop managedFields
        metadataOnly: selector.metadataOnly,
        resyncPeriodMs: this.options.syncPeriodMs,
        watchdogMs: this.params.watchdogMs,
        log: this.log, // the informer names its logger (…informer) and adds the resource
        metrics: this.metrics.informer(name),
      });
      this.informers.set(id, informer);
    }
    return informer as Informer<T>;
  }

  /** Registers a controller (its queue and metrics); it runs while this process leads. */
  newController(options: NewControllerOptions): Controller {
    if (this.started) throw new Error(`controller ${options.name} registered after the manager started`);
    if (this.controllers.some((c) => c.name === options.name))
      throw new Error(`a controller named ${options.name} is already registered`);
    const controller = new Controller({
      name: options.name,
      reconcile: options.reconcile,
      workers: options.workers ?? this.options.maxConcurrentReconciles,
      log: this.log,
      queueMetrics: this.metrics.workqueue(options.name),
      metrics: () => this.metrics.controller(options.name),
    });
    this.controllers.push(controller);
    return controller;
  }

  /** True once every informer has completed its first list. */
  synced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  /**
   * Runs until SIGTERM/SIGINT (exit code 0), a lost lease (1) or a configuration error (1);
   * resolves with the exit code once everything has stopped.
   */
  async start(): Promise<number> {
    if (this.started) throw new Error('manager already started');
    this.started = true;
    const { options: opts, log } = this;
    const informers = [...this.informers.values()];
    const probes: ProbeServer = await startProbeServer({ bindAddress: opts.healthProbeBindAddress, log });
    const metricsServer = await startMetricsServer({
      bindAddress: opts.metricsBindAddress,
      registry: this.metrics.registry,
    });
    log.info('starting', {
      node: process.version,
      identity: this.identity,
      ...this.params.startupFields,
      watchNamespaces: opts.watchNamespaces.length ? opts.watchNamespaces : 'all',
      healthProbePort: probes.port,
      metricsPort: metricsServer.port,
    });
    // Which loader and source the API server settings came from (lean or client-node, and why).
    log.info('api server access', { ...clusterAccess(this.kubeConfig).description });
    probes.addReadyCheck('informers-synced', () => this.synced());
    // A watched resource that does not exist (a deleted CRD) means nothing of it is reconciled.
    probes.addReadyCheck('watched-resources', () => {
      const missing = informers.filter((i) => i.missing()).map((i) => resourceName(i.resource));
      if (missing.length) throw new Error(`not served by the API server: ${missing.join(', ')}`);
    });
    for (const informer of informers) informer.start();

    let elector: LeaderElector | undefined;
    let exitCode = 0;
    let stopping: Promise<void> | undefined;
    const graceMs = this.params.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    const shutdown = (reason: string, code: number) => {
      stopping ??= (async () => {
        exitCode = code;
        log.info('shutting down', { reason });
        const finished = await this.stopControllers(graceMs);
        if (!finished) log.error('in-flight reconciles did not finish in time', undefined, { graceMs });
        await Promise.all(informers.map((i) => i.stop()));
        await elector?.release();
        await Promise.all([probes.close(), metricsServer.close()]);
        log.info('stopped');
      })();
      return stopping;
    };
    const onSigterm = () => void shutdown('SIGTERM', 0);
    const onSigint = () => void shutdown('SIGINT', 0);
    process.once('SIGTERM', onSigterm);
    process.once('SIGINT', onSigint);
    try {
      if (opts.leaderElect) {
        const namespace = opts.leaderElectionNamespace ?? opts.podNamespace;
        if (!namespace) {
          log.error('leader election needs a namespace: set --leader-election-namespace or POD_NAMESPACE');
          await shutdown('no leader election namespace', 1);
          return 1;
        }
        elector = new LeaderElector({
          kubeConfig: this.kubeConfig,
          namespace,
          name: opts.leaderElectionId,
          identity: this.identity,
          log, // the elector names its logger (…leader-election) and adds lease and identity
          metrics: this.metrics.leaderElection(opts.leaderElectionId),
          // Losing the lease means another replica may already be reconciling: stop at once.
          onStoppedLeading: () => void shutdown('leader lease lost', 1),
        });
        const leading = await elector.acquire();
        if (!leading) {
          await stopping;
          return exitCode;
        }
      }
      if (!stopping) {
        await Promise.all(informers.map((i) => i.waitForSync()));
        await Promise.all(
          this.controllers.map((c) => {
            log.info('caches synced, starting workers', { controller: c.name, workers: c.workers });
            return c.start();
          }),
        );
      }
      await stopping;
      return exitCode;
    } finally {
      process.off('SIGTERM', onSigterm);
      process.off('SIGINT', onSigint);
    }
  }

  /** Stops every controller's queue; true when their in-flight reconciles finished within `graceMs`. */
  private async stopControllers(graceMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.controllers.map((c) => c.shutDown())).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    return finished;
  }
}
