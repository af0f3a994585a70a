// What every Redis stack shares: the pinned image, the numeric user, resources and the probe
// scripts. `redis-cli ping` exits 0 even when the reply is an error, so every probe compares
// the reply text itself.
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import { restrictedContainer } from './hardening';
import { imageVersion, recommendedLabels, selectorLabels } from './labels';
import { toKplusResources } from './resources';
import { memoryMi, pinnedImage, resources, type Resources } from './validation';

/** The official image's own `redis` user; numeric so `runAsNonRoot` can be verified. */
export const REDIS_UID = 999;
export const REDIS_PORT = 6379;
export const REDIS_PORT_NAME = 'redis';

export const redisCommonSchema = z.strictObject({
  /** Official Redis image (Debian based: its scripts use `getent` and `sh`). */
  image: pinnedImage().default('redis:8.2.2'),
  resources: resources({
    requests: { cpu: '50m', memory: '64Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
  }),
});
export type RedisCommon = z.output<typeof redisCommonSchema>;

/**
 * redis.conf lines every replicated Redis shares (StatefulSet and HA): data on the volume,
 * append-only persistence, read-only replicas that keep serving while their master is away.
 * Protected mode is off because the password (`requirepass`, added by each stack's start
 * script from the user's Secret) and the NetworkPolicy are the boundary, not the bind address.
 */
export const REPLICATED_REDIS_CONF = [
  `port ${REDIS_PORT}`,
  'dir /data',
  'protected-mode no',
  'appendonly yes',
  'appendfsync everysec',
  'replica-read-only yes',
  'replica-serve-stale-data yes',
];

/**
 * Share of the container's memory limit Redis may fill with data (`maxmemory`). The rest is
 * headroom for what `maxmemory` does not count or cannot bound: the copy-on-write pages of the
 * child forked for an RDB save, an AOF rewrite or a full sync to a replica (up to the whole
 * data set again under heavy writes, Redis' own sizing advice), replica and client output
 * buffers, allocator fragmentation and the process itself. Without it the kernel OOM-kills
 * Redis at the limit instead of Redis evicting or refusing writes.
 */
export const MAXMEMORY_SHARE_OF_LIMIT = 0.5;

/**
 * What Redis does at `maxmemory`: the caches (Pod, Deployment; they start empty anyway) evict
 * the least recently used keys; the stacks that keep data (StatefulSet, HA) refuse writes
 * with `OOM command not allowed` and never drop a key silently.
 */
export type EvictionPolicy = 'allkeys-lru' | 'noeviction';

/** `maxmemory` in Redis units (`mb` = MiB), derived from the container's memory limit. */
export function maxmemory(res: Resources): string {
  return `${Math.floor(memoryMi(res.limits.memory) * MAXMEMORY_SHARE_OF_LIMIT)}mb`;
}

/** The redis.conf lines that bound memory: `maxmemory` and the stack's eviction policy. */
export function memoryConf(res: Resources, policy: EvictionPolicy): string[] {
  return [`maxmemory ${maxmemory(res)}`, `maxmemory-policy ${policy}`];
}

/** redis.conf lines (`name value`) as redis-server command-line arguments. */
function asArgs(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const i = l.indexOf(' ');
    return [`--${l.slice(0, i)}`, l.slice(i + 1)];
  });
}

/**
 * The label a pod needs to reach a Redis stack: `<instance>-client: "true"` (in the stack's
 * namespace). Every stack ships a NetworkPolicy that admits only those pods, its own peers
 * (replication, Sentinel) and, for redis-ha, its HAProxy pods.
 */
export function clientLabel(instance: string): Record<string, string> {
  return { [`${instance}-client`]: 'true' };
}

/** One ingress rule: these peers may reach these ports. */
export interface IngressRule {
  from: k8s.NetworkPolicyPeer[];
  ports: number[];
}

/**
 * A NetworkPolicy that isolates `podSelector` for ingress and lets in only `rules`. Egress is
 * not restricted. Kubelet probes come from the node and are not subject to it.
 */
export function ingressPolicy(
  scope: Construct,
  id: string,
  p: { name: string; labels: Record<string, string>; podSelector: Record<string, string>; rules: IngressRule[] },
) {
  return new k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: p.name, labels: p.labels },
    spec: {
      podSelector: { matchLabels: p.podSelector },
      policyTypes: ['Ingress'],
      ingress: p.rules.map((r) => ({
        from: r.from,
        ports: r.ports.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) })),
      })),
    },
  });
}

/** Alive: the server answers, including while it loads data or its master is down. */
export const LIVENESS_SCRIPT =
  `reply="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping 2>&1)"; ` +
  'case "$reply" in PONG|LOADING*|MASTERDOWN*) exit 0;; *) echo "$reply"; exit 1;; esac';

/** Ready (standalone server): the reply is exactly PONG. */
export const PING_SCRIPT =
  `reply="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping 2>&1)"; ` +
  '[ "$reply" = PONG ] || { echo "$reply"; exit 1; }';

/**
 * Ready (replicated server): it answers PONG and is a master, or a replica that has synced
 * with its master since it started. A replica whose master link is down stays ready: with
 * `replica-serve-stale-data yes` it keeps serving its (possibly stale) data, so the read
 * Service keeps it while the master is away. Only a replica that has never synced since it
 * started (`master_link_down_since_seconds:-1`: its data may be empty) is kept out.
 */
export const ROLE_READY_SCRIPT =
  `${PING_SCRIPT}; ` +
  `info="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} info replication | tr -d '\\r')"; ` +
  'case "$info" in *role:master*) exit 0;; *master_link_status:up*) exit 0;; ' +
  '*master_link_down_since_seconds:-1*) echo "replica has not synced with its master since it started"; exit 1;; ' +
  '*) echo "master link down: serving possibly stale data"; exit 0;; esac';

/** Labels for one Redis stack: recommended set plus the tutorial's `app` label. */
export function redisLabels(instance: string, image: string) {
  const base = { name: 'redis', instance, component: 'cache', version: imageVersion(image) };
  return {
    selector: { ...selectorLabels(base), app: instance },
    metadata: { ...recommendedLabels(base), app: instance },
  };
}

export function livenessProbe() {
  return kplus.Probe.fromCommand(['sh', '-c', LIVENESS_SCRIPT], {
    initialDelaySeconds: Duration.seconds(10),
    periodSeconds: Duration.seconds(10),
    timeoutSeconds: Duration.seconds(5),
    failureThreshold: 6,
  });
}

export function readinessProbe(script = PING_SCRIPT) {
  return kplus.Probe.fromCommand(['sh', '-c', script], {
    initialDelaySeconds: Duration.seconds(2),
    periodSeconds: Duration.seconds(5),
    timeoutSeconds: Duration.seconds(3),
    failureThreshold: 3,
  });
}

/** The standalone Redis container (cdk8s-plus form) used by the Pod and Deployment stacks. */
export function standaloneRedisContainer(cfg: RedisCommon, data: kplus.Volume): kplus.ContainerProps {
  return {
    name: 'redis',
    image: cfg.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    // Explicit, so the behaviour does not depend on the image's defaults: data in the writable
    // volume; protected mode off because the Service, not the bind address, is the boundary.
    command: ['redis-server'],
    // A cache: at maxmemory (half the memory limit) it evicts least recently used keys.
    args: [
      '--dir',
      '/data',
      '--port',
      String(REDIS_PORT),
      '--protected-mode',
      'no',
      ...asArgs(memoryConf(cfg.resources, 'allkeys-lru')),
    ],
    ports: [{ number: REDIS_PORT, name: REDIS_PORT_NAME }],
    securityContext: restrictedContainer(REDIS_UID),
    resources: toKplusResources(cfg.resources),
    liveness: livenessProbe(),
    readiness: readinessProbe(),
    volumeMounts: [{ path: '/data', volume: data }],
  };
}

/**
 * Pod anti-affinity that spreads a workload's pods over nodes by hostname: `soft` prefers
 * distinct nodes (pods still schedule on a one-node cluster), `hard` requires them.
 */
export function spreadOverNodes(selector: Record<string, string>, mode: 'soft' | 'hard' = 'soft') {
  const term = { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } };
  return {
    podAntiAffinity:
      mode === 'hard'
        ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
        : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
  };
}
