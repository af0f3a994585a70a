// Stack 4: Redis that fails over, composed of two constructs:
//   - RedisSentinelStatefulSet (redis-ha/sentinel.ts): N pods (default 3), each a Redis server
//     and a Sentinel; Sentinels (quorum 2 of 3) promote a replica when the master stays
//     unreachable. Sentinel-aware clients ask Service <name>-sentinel:26379
//     (`SENTINEL get-master-addr-by-name <masterSet>`), then connect to the master;
//   - RedisMasterProxy (redis-ha/haproxy.ts): any other client connects to Service
//     <name>-master:6379, where HAProxy forwards only to the server reporting `role:master`.
// This file holds the configuration schema and maps it onto the two constructs' props.
//
// The password comes from a Secret the user creates (never rendered into dist/):
//   kubectl -n <ns> create secret generic <name>-auth --from-literal=password="$(openssl rand -hex 32)"
import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { z } from 'zod';
import { REDIS_PORT, RedisCommon, clientLabel, ingressPolicy } from './redis-common';
import { recommendedLabels } from './labels';
import { REDIS_MASTER_PROXY_DEFAULTS, RedisMasterProxy } from './redis-ha/haproxy';
import { REDIS_SENTINEL_DEFAULTS, RedisSentinelStatefulSet, SENTINEL_PORT } from './redis-ha/sentinel';
import { dnsLabel, dnsSubdomain, pinnedImage, positiveQuantity, resources } from './validation';

export { HAPROXY_UID, RedisMasterProxy, type RedisMasterProxyProps } from './redis-ha/haproxy';
export { SENTINEL_PORT, RedisSentinelStatefulSet, type RedisSentinelStatefulSetProps } from './redis-ha/sentinel';

const int = () => z.number().int('must be a whole number');
const D = REDIS_SENTINEL_DEFAULTS;

export const redisHaSchema = z
  .strictObject({
    /** Base name of every object; pods are <name>-0, <name>-1, … */
    name: dnsLabel().max(40, 'must be at most 40 characters (it prefixes Service and pod names)').default('redis-ha'),
    /** Pods, each with one Redis and one Sentinel. */
    replicas: int()
      .min(3, 'must be at least 3 (Sentinels need a majority that survives losing a pod)')
      .max(9, 'must be at most 9')
      .default(D.replicas),
    /** Sentinels that must agree the master is down before a failover starts. */
    quorum: int().min(1, 'must be at least 1').default(D.quorum),
    /** The name Sentinel-aware clients ask for. */
    masterSet: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 characters of letters, digits, '.', '_' or '-'")
      .default(D.masterSet),
    /** How long the master must be unreachable before a Sentinel considers it down. */
    downAfterMilliseconds: int()
      .min(1000, 'must be at least 1000')
      .max(600_000, 'must be at most 600000')
      .default(D.downAfterMilliseconds),
    /** Sentinel failover-timeout (also the pause before the same master is failed over again). */
    failoverTimeoutMilliseconds: int()
      .min(10_000, 'must be at least 10000')
      .max(3_600_000, 'must be at most 3600000')
      .default(D.failoverTimeoutMilliseconds),
    /** A master refuses writes unless this many replicas are connected (0: never refuse). */
    minReplicasToWrite: int().min(0, 'must be 0 or more').default(D.minReplicasToWrite),
    /** … with a replication lag of at most this many seconds. */
    minReplicasMaxLag: int()
      .min(1, 'must be at least 1')
      .max(3600, 'must be at most 3600')
      .default(D.minReplicasMaxLag),
    auth: z
      .strictObject({
        /** Secret created by the user (not rendered): see docs/redis.md. */
        secretName: dnsSubdomain().default(D.auth.secretName),
        passwordKey: z
          .string()
          .regex(/^[-._a-zA-Z0-9]{1,253}$/, "must be a Secret key: letters, digits, '-', '_' or '.'")
          .default(D.auth.passwordKey),
      })
      .prefault({}),
    storage: z
      .strictObject({
        size: positiveQuantity().default(D.storage.size),
        /** Omitted: the cluster's default StorageClass. */
        className: dnsSubdomain().optional(),
      })
      .prefault({}),
    /** soft: prefer one pod per node; hard: require it (needs at least `replicas` nodes). */
    antiAffinity: z.enum(['soft', 'hard']).default(D.antiAffinity),
    sentinel: z
      .strictObject({
        resources: resources(D.sentinelResources),
      })
      .prefault({}),
    haproxy: z
      .strictObject({
        image: pinnedImage().default(REDIS_MASTER_PROXY_DEFAULTS.image),
        replicas: int()
          .min(1, 'must be at least 1')
          .max(10, 'must be at most 10')
          .default(REDIS_MASTER_PROXY_DEFAULTS.replicas),
        resources: resources(REDIS_MASTER_PROXY_DEFAULTS.resources),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.quorum > c.replicas)
      ctx.addIssue({ code: 'custom', path: ['quorum'], message: `must be at most replicas (${c.replicas})` });
    if (c.minReplicasToWrite > c.replicas - 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['minReplicasToWrite'],
        message: `must be at most replicas - 1 (${c.replicas - 1})`,
      });
    }
  });
export type RedisHaConfig = z.output<typeof redisHaSchema>;

export interface RedisHaChartProps extends ChartProps {
  readonly config: RedisHaConfig;
  readonly redis: RedisCommon;
  readonly clusterDomain: string;
}

export class RedisHaChart extends Chart {
  constructor(scope: Construct, id: string, props: RedisHaChartProps) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
    // The configuration maps onto the two constructs' props here and nowhere else.
    const c = props.config;
    const servers = new RedisSentinelStatefulSet(this, 'servers', {
      name: c.name,
      image: props.redis.image,
      resources: props.redis.resources,
      sentinelResources: c.sentinel.resources,
      clusterDomain: props.clusterDomain,
      replicas: c.replicas,
      quorum: c.quorum,
      masterSet: c.masterSet,
      downAfterMilliseconds: c.downAfterMilliseconds,
      failoverTimeoutMilliseconds: c.failoverTimeoutMilliseconds,
      minReplicasToWrite: c.minReplicasToWrite,
      minReplicasMaxLag: c.minReplicasMaxLag,
      auth: c.auth,
      storage: c.storage,
      antiAffinity: c.antiAffinity,
    });
    const proxy = new RedisMasterProxy(this, 'proxy', {
      name: `${c.name}-haproxy`,
      serviceName: `${c.name}-master`,
      servers: servers.podHostNames('${POD_NAMESPACE}'),
      passwordEnv: servers.passwordEnv,
      image: c.haproxy.image,
      replicas: c.haproxy.replicas,
      resources: c.haproxy.resources,
    });
    // cdk8s writes a chart's objects in construct order, moved only by dependencies. These two
    // keep the order the chart had before it was split into the two constructs (ConfigMaps,
    // Services, then workloads), so dist/redis-ha.k8s.yaml did not change.
    servers.headlessService.node.addDependency(proxy.configMap);
    servers.statefulSet.node.addDependency(proxy.service);

    // Ingress: clients labelled <name>-client=true reach HAProxy (6379) and Sentinels (26379,
    // and Redis directly for replica reads); HAProxy reaches Redis for its checks and
    // forwarding; the pods reach each other (replication, Sentinel gossip and checks).
    const clients = { podSelector: { matchLabels: clientLabel(c.name) } };
    const peers = { podSelector: { matchLabels: servers.podSelector } };
    const haproxy = { podSelector: { matchLabels: proxy.podSelector } };
    const labels = recommendedLabels({ name: 'redis', instance: c.name, component: 'server' });
    ingressPolicy(this, 'network-policy', {
      name: c.name,
      labels,
      podSelector: servers.podSelector,
      rules: [
        { from: [clients, peers, haproxy], ports: [REDIS_PORT] },
        { from: [clients, peers], ports: [SENTINEL_PORT] },
      ],
    });
    ingressPolicy(this, 'haproxy-network-policy', {
      name: `${c.name}-haproxy`,
      labels: recommendedLabels({ name: 'haproxy', instance: `${c.name}-haproxy`, component: 'proxy' }),
      podSelector: proxy.podSelector,
      rules: [{ from: [clients], ports: [REDIS_PORT] }],
    });
  }
}
