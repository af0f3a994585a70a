// The Memcached operator's entry point: flags and environment in controller-runtime's style,
// probes and metrics servers, informers, leader election, workers, graceful shutdown.
//   node build/operator.mjs --leader-elect --health-probe-bind-address=:8081 --metrics-bind-address=:8080
import { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_GROUP_DOMAIN, DEFAULT_MEMCACHED_IMAGE, memcachedGroup } from '../constructs/memcached-api';
import { MemcachedController } from './controller';
import { FlagError, parseManagerFlags } from './runtime/flags';
import { startMetricsServer, startProbeServer } from './runtime/http';
import { defaultIdentity, LeaderElector } from './runtime/leader-election';
import { reuseConnections } from './runtime/kube-config';
import { createLogger } from './runtime/log';
import { RuntimeMetrics } from './runtime/metrics';

/** Time in-flight reconciles get to finish on SIGTERM; well inside the pod's 30 s grace. */
const SHUTDOWN_GRACE_MS = 15_000;

async function main(): Promise<number> {
  const groupDomain = process.env.MEMCACHED_GROUP_DOMAIN || DEFAULT_GROUP_DOMAIN;
  let opts;
  try {
    opts = parseManagerFlags(process.argv.slice(2), process.env, { leaderElectionId: `memcached-operator.${memcachedGroup(groupDomain)}` });
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`memcached-operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ level: opts.logLevel, name: 'memcached-operator' });
  const image = process.env.MEMCACHED_IMAGE || DEFAULT_MEMCACHED_IMAGE;
  const identity = defaultIdentity();

  const kc = new KubeConfig();
  kc.loadFromDefault(); // in-cluster service account, or KUBECONFIG / ~/.kube/config
  reuseConnections(kc); // one connection for all requests instead of one per request
  const metrics = new RuntimeMetrics({ defaultMetrics: true });
  const probes = await startProbeServer({ bindAddress: opts.healthProbeBindAddress, log });
  const metricsServer = await startMetricsServer({ bindAddress: opts.metricsBindAddress, registry: metrics.registry });
  log.info('starting', {
    version: process.env.npm_package_version,
    node: process.version,
    identity,
    image,
    group: memcachedGroup(groupDomain),
    watchNamespaces: opts.watchNamespaces.length ? opts.watchNamespaces : 'all',
    healthProbePort: probes.port,
    metricsPort: metricsServer.port,
  });

  const controller = new MemcachedController({
    kubeConfig: kc,
    namespaces: opts.watchNamespaces,
    groupDomain,
    image,
    workers: opts.maxConcurrentReconciles,
    identity,
    log,
    metrics,
    resyncPeriodMs: opts.syncPeriodMs,
  });
  probes.addReadyCheck('informers-synced', () => controller.synced());
  controller.startInformers();

  let elector: LeaderElector | undefined;
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string, code: number) => {
    stopping ??= (async () => {
      exitCode = code;
      log.info('shutting down', { reason });
      const finished = await controller.stop(SHUTDOWN_GRACE_MS);
      if (!finished) log.error('in-flight reconciles did not finish in time', undefined, { graceMs: SHUTDOWN_GRACE_MS });
      await elector?.release();
      await Promise.all([probes.close(), metricsServer.close()]);
      log.info('stopped');
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));

  if (opts.leaderElect) {
    const namespace = opts.leaderElectionNamespace ?? opts.podNamespace;
    if (!namespace) {
      log.error('leader election needs a namespace: set --leader-election-namespace or POD_NAMESPACE');
      await shutdown('no leader election namespace', 1);
      return 1;
    }
    elector = new LeaderElector({
      kubeConfig: kc,
      namespace,
      name: opts.leaderElectionId,
      identity,
      log: log.child({ lease: `${namespace}/${opts.leaderElectionId}` }, 'leader-election'),
      metrics: metrics.leaderElection(opts.leaderElectionId),
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
    await controller.waitForSync();
    log.info('caches synced, starting workers', { workers: opts.maxConcurrentReconciles });
    await controller.runWorkers();
  }
  await stopping;
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`memcached-operator: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
