// Stack 4: Redis that fails over. One StatefulSet of N pods (default 3), each running a Redis
// server and a Redis Sentinel; Sentinels (quorum 2 of 3) watch the master and promote a
// replica when it stays unreachable for `downAfterMilliseconds`. Everything is addressed by
// stable host names (<pod>.<name>-headless.<ns>.svc.<domain>: `resolve-hostnames`,
// `announce-hostnames`, `replica-announce-ip`), never by pod IPs, so a pod that comes back with
// a new IP is still recognised.
//
// Two ways in for clients:
//   - Sentinel-aware clients ask Service <name>-sentinel:26379
//     (`SENTINEL get-master-addr-by-name <masterSet>`), then connect to the master;
//   - any other client connects to Service <name>-master:6379. Behind it, HAProxy checks every
//     Redis server with AUTH + `INFO replication` once a second and forwards only to the one
//     that reports `role:master` (and cuts connections to a server that stops being master).
//     This needs no Kubernetes API access at all (no ServiceAccount token, no Role), unlike a
//     role label kept current by a sidecar or by Sentinel's reconfig script, which needs
//     `patch pods` in the namespace and a token in every Redis pod; and a role label only moves
//     after the kubelet and the endpoints controller have seen it, while HAProxy's own checks
//     see the promotion directly.
//
// The password comes from a Secret the user creates (never rendered into dist/):
//   kubectl -n <ns> create secret generic <name>-auth --from-literal=password="$(openssl rand -hex 32)"
import { createHash } from 'node:crypto';
import { Chart, ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import { restrictedContainerSpec, restrictedPodSpec } from './hardening';
import { imageVersion, recommendedLabels, selectorLabels } from './labels';
import { REDIS_PORT, REDIS_UID, REPLICATED_REDIS_CONF, RedisCommon } from './redis-common';
import { toKubeResources } from './resources';
import { dnsLabel, dnsSubdomain, pinnedImage, positiveQuantity, resources } from './validation';

export const SENTINEL_PORT = 26379;
/** The official haproxy image's own `haproxy` user. */
export const HAPROXY_UID = 99;
const HAPROXY_HEALTH_PORT = 8404;

const int = () => z.number().int('must be a whole number');

export const redisHaSchema = z
  .strictObject({
    /** Base name of every object; pods are <name>-0, <name>-1, … */
    name: dnsLabel().max(40, 'must be at most 40 characters (it prefixes Service and pod names)').default('redis-ha'),
    /** Pods, each with one Redis and one Sentinel. */
    replicas: int().min(3, 'must be at least 3 (Sentinels need a majority that survives losing a pod)').max(9, 'must be at most 9').default(3),
    /** Sentinels that must agree the master is down before a failover starts. */
    quorum: int().min(1, 'must be at least 1').default(2),
    /** The name Sentinel-aware clients ask for. */
    masterSet: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 characters of letters, digits, '.', '_' or '-'")
      .default('mymaster'),
    /** How long the master must be unreachable before a Sentinel considers it down. */
    downAfterMilliseconds: int().min(1000, 'must be at least 1000').max(600_000, 'must be at most 600000').default(5000),
    /** Sentinel failover-timeout (also the pause before the same master is failed over again). */
    failoverTimeoutMilliseconds: int().min(10_000, 'must be at least 10000').max(3_600_000, 'must be at most 3600000').default(60_000),
    /** A master refuses writes unless this many replicas are connected (0: never refuse). */
    minReplicasToWrite: int().min(0, 'must be 0 or more').default(1),
    /** … with a replication lag of at most this many seconds. */
    minReplicasMaxLag: int().min(1, 'must be at least 1').max(3600, 'must be at most 3600').default(10),
    auth: z
      .strictObject({
        /** Secret created by the user (not rendered): see docs/redis.md. */
        secretName: dnsSubdomain().default('redis-ha-auth'),
        passwordKey: z
          .string()
          .regex(/^[-._a-zA-Z0-9]{1,253}$/, "must be a Secret key: letters, digits, '-', '_' or '.'")
          .default('password'),
      })
      .prefault({}),
    storage: z
      .strictObject({
        size: positiveQuantity().default('1Gi'),
        /** Omitted: the cluster's default StorageClass. */
        className: dnsSubdomain().optional(),
      })
      .prefault({}),
    /** soft: prefer one pod per node; hard: require it (needs at least `replicas` nodes). */
    antiAffinity: z.enum(['soft', 'hard']).default('soft'),
    sentinel: z
      .strictObject({
        resources: resources().default({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } }),
      })
      .prefault({}),
    haproxy: z
      .strictObject({
        image: pinnedImage().default('haproxy:3.2.6'),
        replicas: int().min(1, 'must be at least 1').max(10, 'must be at most 10').default(2),
        resources: resources().default({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } }),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.quorum > c.replicas) ctx.addIssue({ code: 'custom', path: ['quorum'], message: `must be at most replicas (${c.replicas})` });
    if (c.minReplicasToWrite > c.replicas - 1) {
      ctx.addIssue({ code: 'custom', path: ['minReplicasToWrite'], message: `must be at most replicas - 1 (${c.replicas - 1})` });
    }
  });
export type RedisHaConfig = z.output<typeof redisHaSchema>;

export interface RedisHaChartProps extends ChartProps {
  readonly config: RedisHaConfig;
  readonly redis: RedisCommon;
  readonly clusterDomain: string;
}

/** Settings every Redis server shares; the start script adds identity, auth and role. */
export function redisConf(c: RedisHaConfig): string {
  return [
    // Authentication (requirepass, added by the start script) protects the server.
    ...REPLICATED_REDIS_CONF,
    // A master cut off from every replica stops accepting writes after the lag below, which
    // bounds what a failover can discard from it.
    `min-replicas-to-write ${c.minReplicasToWrite}`,
    `min-replicas-max-lag ${c.minReplicasMaxLag}`,
    '',
  ].join('\n');
}

/** Shared shell functions: password check, host names, "who is master?" */
const COMMON_SH = String.raw`set -eu
ordinal="${'$'}{HOSTNAME##*-}"
self="$HOSTNAME.$HEADLESS_DOMAIN"
case "$REDIS_PASSWORD" in
  ''|*[!A-Za-z0-9._~+/=-]*)
    echo "the password in Secret $AUTH_SECRET must be non-empty and use only letters, digits and . _ ~ + / = -" >&2
    exit 1;;
esac
export REDISCLI_AUTH="$REDIS_PASSWORD"

# Prints "<host>" of the master most reachable Sentinels agree on; nothing if none answers.
sentinel_master() {
  answers=""
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    peer="$NAME-$i.$HEADLESS_DOMAIN"
    a="$(timeout 3 redis-cli -h "$peer" -p ${SENTINEL_PORT} --raw sentinel get-master-addr-by-name "$MASTER_SET" 2>/dev/null | head -n 1 || true)"
    case "$a" in ''|*' '*|*ERR*|*NOAUTH*|*IDONTKNOW*) ;; *) answers="$answers$a
";; esac
    i=$((i + 1))
  done
  printf '%s' "$answers" | sed '/^$/d' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

# Waits (bounded) until a host name resolves; Sentinel refuses to start on one that does not.
wait_resolvable() {
  n=0
  until getent hosts "$1" >/dev/null 2>&1; do
    n=$((n + 1))
    if [ "$n" -ge 60 ]; then echo "$1 does not resolve after 60 s" >&2; return 1; fi
    sleep 1
  done
}
`;

/** Redis container: choose the role (Sentinels' current master, or pod 0 on a fresh start). */
export const REDIS_START = String.raw`. /etc/redis-ha/common.sh
master="$(sentinel_master)"
if [ -z "$master" ]; then
  # No Sentinel answers: a fresh start (or all Sentinels lost). Pod 0 is the first master.
  master="$NAME-0.$HEADLESS_DOMAIN"
  echo "no Sentinel knows a master: assuming $master"
else
  echo "Sentinels report master $master"
fi
conf=/run/redis-ha/redis.conf
{
  echo "include /etc/redis-ha/redis.conf"
  echo "requirepass $REDIS_PASSWORD"
  echo "masterauth $REDIS_PASSWORD"
  echo "replica-announce-ip $self"
  echo "replica-announce-port ${REDIS_PORT}"
  if [ "$master" != "$self" ]; then echo "replicaof $master ${REDIS_PORT}"; fi
} > "$conf"
if [ "$master" = "$self" ]; then echo "starting as master ($self)"; else echo "starting as replica of $master"; fi
exec redis-server "$conf"
`;

/** Sentinel container: keep its state across container restarts, else monitor the current master. */
export function sentinelStart(c: RedisHaConfig): string {
  return String.raw`. /etc/redis-ha/common.sh
conf=/run/sentinel/sentinel.conf
if [ -s "$conf" ] && grep -q '^sentinel monitor' "$conf"; then
  echo "restarting with the state in $conf"
  exec redis-server "$conf" --sentinel
fi
master="$(sentinel_master)"
[ -n "$master" ] || master="$NAME-0.$HEADLESS_DOMAIN"
echo "monitoring $MASTER_SET at $master"
wait_resolvable "$master"
cat > "$conf" <<EOF
port ${SENTINEL_PORT}
dir /run/sentinel
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $self
sentinel announce-port ${SENTINEL_PORT}
requirepass $REDIS_PASSWORD
sentinel sentinel-pass $REDIS_PASSWORD
sentinel monitor $MASTER_SET $master ${REDIS_PORT} ${c.quorum}
sentinel auth-pass $MASTER_SET $REDIS_PASSWORD
sentinel down-after-milliseconds $MASTER_SET ${c.downAfterMilliseconds}
sentinel failover-timeout $MASTER_SET ${c.failoverTimeoutMilliseconds}
sentinel parallel-syncs $MASTER_SET 1
EOF
exec redis-server "$conf" --sentinel
`;
}

const AUTH_CLI = 'export REDISCLI_AUTH="$REDIS_PASSWORD"; ';
/** Alive while the server answers, including while loading or while its master is down. */
export const REDIS_LIVENESS =
  AUTH_CLI +
  `reply="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping 2>&1)"; ` +
  'case "$reply" in PONG|LOADING*|MASTERDOWN*) exit 0;; *) echo "$reply"; exit 1;; esac';
/** Ready: master, or replica with its link up. */
export const REDIS_READINESS =
  AUTH_CLI +
  `reply="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping 2>&1)"; [ "$reply" = PONG ] || { echo "$reply"; exit 1; }; ` +
  `info="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} info replication | tr -d '\\r')"; ` +
  'case "$info" in *role:master*) exit 0;; *master_link_status:up*) exit 0;; *) echo "replica not linked to its master"; exit 1;; esac';
export const SENTINEL_LIVENESS =
  AUTH_CLI + `reply="$(redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT} ping 2>&1)"; [ "$reply" = PONG ] || { echo "$reply"; exit 1; }`;
/** Ready: this Sentinel knows the master and enough Sentinels for quorum and majority. */
export const SENTINEL_READINESS =
  AUTH_CLI + `reply="$(redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT} sentinel ckquorum "$MASTER_SET" 2>&1)"; case "$reply" in OK*) exit 0;; *) echo "$reply"; exit 1;; esac`;

/** HAProxy: forward to whichever server answers `role:master`; never to a replica. */
export function haproxyCfg(c: RedisHaConfig, servers: string[]): string {
  return [
    'global',
    '  log stdout format raw local0 notice',
    '  maxconn 4096',
    '',
    'resolvers cluster',
    // The pod's resolv.conf (cluster DNS): server names are re-resolved, so a Redis pod that
    // comes back with a new IP is found again.
    '  parse-resolv-conf',
    '  resolve_retries 3',
    '  timeout resolve 1s',
    '  timeout retry 1s',
    '  hold valid 5s',
    '  hold nx 5s',
    '  hold timeout 30s',
    '  hold refused 30s',
    '  hold other 30s',
    '  hold obsolete 5s',
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  timeout connect 3s',
    // Redis connections idle for long (pub/sub, blocking pops): do not cut them.
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout check 2s',
    '',
    'frontend health',
    '  mode http',
    `  bind :${HAPROXY_HEALTH_PORT}`,
    '  monitor-uri /healthz',
    '',
    'frontend ready',
    '  mode http',
    `  bind :${HAPROXY_HEALTH_PORT + 1}`,
    '  monitor-uri /ready',
    '  acl no_master nbsrv(master) lt 1',
    '  monitor fail if no_master',
    '',
    'frontend redis',
    `  bind :${REDIS_PORT}`,
    '  default_backend master',
    '',
    'backend master',
    '  option tcp-check',
    '  tcp-check connect',
    '  tcp-check send "AUTH ${REDIS_PASSWORD}\\r\\n"',
    '  tcp-check expect string +OK',
    '  tcp-check send "INFO replication\\r\\n"',
    '  tcp-check expect string role:master',
    '  tcp-check send "QUIT\\r\\n"',
    '  tcp-check expect string +OK',
    // Checked every second; one failed check marks a server down and closes the clients'
    // connections to it, so they reconnect through here to the new master.
    '  default-server check inter 1s fall 1 rise 1 resolvers cluster resolve-prefer ipv4 init-addr last,libc,none on-marked-down shutdown-sessions',
    // HAProxy expands ${POD_NAMESPACE} (downward API) in quoted strings: the manifests work
    // in whatever namespace they are applied to, like the StatefulSet's $(POD_NAMESPACE).
    ...servers.map((host, i) => `  server ${c.name}-${i} "${host}:${REDIS_PORT}"`),
    '',
  ].join('\n');
}

function checksum(data: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(data)).digest('hex');
}

export class RedisHaChart extends Chart {
  constructor(scope: Construct, id: string, props: RedisHaChartProps) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
    const c = props.config;
    const { name } = c;
    const headless = `${name}-headless`;
    const redisImage = props.redis.image;
    const base = { name: 'redis', instance: name, version: imageVersion(redisImage) };
    const serverSel = { ...selectorLabels(base), 'app.kubernetes.io/component': 'server' };
    const serverMeta = { ...recommendedLabels({ ...base, component: 'server' }) };
    const proxyBase = { name: 'haproxy', instance: `${name}-haproxy`, version: imageVersion(c.haproxy.image) };
    const proxySel = selectorLabels(proxyBase);
    const proxyMeta = recommendedLabels({ ...proxyBase, component: 'proxy' });
    const meta = (n: string, labels: Record<string, string>) => ({ name: n, labels });

    const configData: Record<string, string> = {
      'redis.conf': redisConf(c),
      'common.sh': COMMON_SH,
      'redis-start.sh': REDIS_START,
      'sentinel-start.sh': sentinelStart(c),
    };
    new k8s.KubeConfigMap(this, 'config', { metadata: meta(name, serverMeta), data: configData });
    const haproxyServers = Array.from({ length: c.replicas }, (_, i) => `${name}-${i}.${headless}.\${POD_NAMESPACE}.svc.${props.clusterDomain}`);
    const haproxyData = { 'haproxy.cfg': haproxyCfg(c, haproxyServers) };
    new k8s.KubeConfigMap(this, 'haproxy-config', { metadata: meta(`${name}-haproxy`, proxyMeta), data: haproxyData });

    const redisPort = { name: 'redis', port: REDIS_PORT, targetPort: k8s.IntOrString.fromString('redis') };
    const sentinelPort = { name: 'sentinel', port: SENTINEL_PORT, targetPort: k8s.IntOrString.fromString('sentinel') };
    // Stable per-pod names, published before pods are ready (a replica must find a master
    // that is still loading; Sentinels must find each other while a master is down).
    new k8s.KubeService(this, 'headless', {
      metadata: meta(headless, serverMeta),
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: serverSel, ports: [redisPort, sentinelPort] },
    });
    // Sentinel-aware clients. Not-ready pods stay in: a pod is not ready while its Redis
    // replica has no master, which is exactly when clients need its Sentinel.
    new k8s.KubeService(this, 'sentinel', {
      metadata: meta(`${name}-sentinel`, serverMeta),
      spec: { publishNotReadyAddresses: true, selector: serverSel, ports: [sentinelPort] },
    });
    // Everyone else: the current master, through HAProxy.
    new k8s.KubeService(this, 'master', {
      metadata: meta(`${name}-master`, proxyMeta),
      spec: { selector: proxySel, ports: [{ name: 'redis', port: REDIS_PORT, targetPort: k8s.IntOrString.fromString('redis') }] },
    });

    const password = { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: c.auth.secretName, key: c.auth.passwordKey } } };
    const scriptEnv = [
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NAME', value: name },
      { name: 'REPLICAS', value: String(c.replicas) },
      { name: 'HEADLESS_DOMAIN', value: `${headless}.$(POD_NAMESPACE).svc.${props.clusterDomain}` },
      { name: 'MASTER_SET', value: c.masterSet },
      { name: 'AUTH_SECRET', value: `${c.auth.secretName}/${c.auth.passwordKey}` },
      password,
    ];
    const probe = (script: string, p: { initialDelaySeconds?: number; periodSeconds: number; failureThreshold: number; timeoutSeconds?: number }) => ({
      exec: { command: ['sh', '-c', script] },
      timeoutSeconds: p.timeoutSeconds ?? 3,
      initialDelaySeconds: p.initialDelaySeconds,
      periodSeconds: p.periodSeconds,
      failureThreshold: p.failureThreshold,
    });
    const affinityTerm = { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: serverSel } };

    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: meta(name, serverMeta),
      spec: {
        serviceName: headless,
        replicas: c.replicas,
        // Roles come from the Sentinels (or pod 0 on a fresh start), not from start order.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: serverSel },
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels: serverMeta, annotations: { 'checksum/config': checksum(configData) } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSpec(REDIS_UID),
            terminationGracePeriodSeconds: 30,
            affinity: {
              podAntiAffinity:
                c.antiAffinity === 'hard'
                  ? { requiredDuringSchedulingIgnoredDuringExecution: [affinityTerm] }
                  : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: affinityTerm }] },
            },
            containers: [
              {
                name: 'redis',
                image: redisImage,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '/etc/redis-ha/redis-start.sh'],
                env: scriptEnv,
                ports: [{ name: 'redis', containerPort: REDIS_PORT }],
                securityContext: restrictedContainerSpec(REDIS_UID),
                resources: toKubeResources(props.redis.resources),
                // Loading a large data set can take a while: liveness starts after this.
                startupProbe: probe(REDIS_LIVENESS, { periodSeconds: 5, failureThreshold: 60 }),
                // Alive while it answers (LOADING and MASTERDOWN included): a replica whose
                // master is down must not be restarted.
                livenessProbe: probe(REDIS_LIVENESS, { periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 }),
                readinessProbe: probe(REDIS_READINESS, { periodSeconds: 5, failureThreshold: 3 }),
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 'config', mountPath: '/etc/redis-ha', readOnly: true },
                  { name: 'redis-run', mountPath: '/run/redis-ha' },
                ],
              },
              {
                name: 'sentinel',
                image: redisImage,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '/etc/redis-ha/sentinel-start.sh'],
                env: scriptEnv,
                ports: [{ name: 'sentinel', containerPort: SENTINEL_PORT }],
                securityContext: restrictedContainerSpec(REDIS_UID),
                resources: toKubeResources(c.sentinel.resources),
                livenessProbe: probe(SENTINEL_LIVENESS, { initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 }),
                readinessProbe: probe(SENTINEL_READINESS, { initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 }),
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/redis-ha', readOnly: true },
                  // Sentinel rewrites its config file with what it learns (epochs, peers).
                  { name: 'sentinel-run', mountPath: '/run/sentinel' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name, defaultMode: 0o444 } },
              { name: 'redis-run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
              { name: 'sentinel-run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: serverSel },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: c.storage.className,
              resources: { requests: { storage: k8s.Quantity.fromString(c.storage.size) } },
            },
          },
        ],
      },
    });
    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: meta(name, serverMeta),
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: serverSel } },
    });

    new k8s.KubeDeployment(this, 'haproxy', {
      metadata: meta(`${name}-haproxy`, proxyMeta),
      spec: {
        replicas: c.haproxy.replicas,
        selector: { matchLabels: proxySel },
        template: {
          metadata: { labels: proxyMeta, annotations: { 'checksum/config': checksum(haproxyData) } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSpec(HAPROXY_UID),
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: proxySel } } },
                ],
              },
            },
            containers: [
              {
                name: 'haproxy',
                image: c.haproxy.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['haproxy', '-W', '-db', '-f', '/etc/haproxy-ha/haproxy.cfg'],
                env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, password],
                ports: [
                  { name: 'redis', containerPort: REDIS_PORT },
                  { name: 'health', containerPort: HAPROXY_HEALTH_PORT },
                  { name: 'ready', containerPort: HAPROXY_HEALTH_PORT + 1 },
                ],
                securityContext: restrictedContainerSpec(HAPROXY_UID),
                resources: toKubeResources(c.haproxy.resources),
                livenessProbe: {
                  httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('health') },
                  periodSeconds: 10,
                  failureThreshold: 3,
                  timeoutSeconds: 2,
                },
                // Ready while it has seen a master in the last 20 s (a failover takes less, so
                // the Service keeps its endpoints through one).
                readinessProbe: {
                  httpGet: { path: '/ready', port: k8s.IntOrString.fromString('ready') },
                  periodSeconds: 2,
                  failureThreshold: 10,
                  timeoutSeconds: 2,
                },
                volumeMounts: [{ name: 'config', mountPath: '/etc/haproxy-ha', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: `${name}-haproxy`, defaultMode: 0o444 } }],
          },
        },
      },
    });
    new k8s.KubePodDisruptionBudget(this, 'haproxy-pdb', {
      metadata: meta(`${name}-haproxy`, proxyMeta),
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: proxySel } },
    });
  }
}
