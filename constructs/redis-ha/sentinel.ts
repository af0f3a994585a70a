// Redis with Sentinel: one StatefulSet of N pods, each running a Redis server and a Redis
// Sentinel. Sentinels (quorum of N) watch the master and promote a replica when it stays
// unreachable for `downAfterMilliseconds`. Everything is addressed by stable host names
// (<pod>.<name>-headless.<ns>.svc.<domain>: `resolve-hostnames`, `announce-hostnames`,
// `replica-announce-ip`), never by pod IPs, so a pod that comes back with a new IP is still
// recognised. Objects: ConfigMap <name> (redis.conf and the start scripts), Services
// <name>-headless (per-pod names) and <name>-sentinel (Sentinel-aware clients), StatefulSet
// <name>, PodDisruptionBudget <name>.
//
// The start scripts are real files beside this one (common.sh, redis-start.sh,
// sentinel-start.sh; `@NAME@` placeholders filled at synth), imported as text: see
// ../text-files.d.ts.
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { restrictedContainerSpec, restrictedPodSpec } from '../hardening';
import { imageVersion, recommendedLabels, selectorLabels } from '../labels';
import { REDIS_PORT, REDIS_UID, REPLICATED_REDIS_CONF, memoryConf, spreadOverNodes } from '../redis-common';
import { toKubeResources } from '../resources';
import { withDefaults } from '../props';
import { configChecksum, fillTemplate } from '../template';
import type { Resources } from '../validation';
import commonSh from './common.sh';
import redisStartSh from './redis-start.sh';
import sentinelStartSh from './sentinel-start.sh';

export const SENTINEL_PORT = 26379;

/** Where the ConfigMap is mounted; the scripts source /etc/redis-ha/common.sh. */
const CONFIG_DIR = '/etc/redis-ha';

export interface RedisSentinelStatefulSetProps {
  /** Base name of every object; pods are <name>-0, <name>-1, … */
  readonly name: string;
  /** Redis image for both containers (Debian based: the scripts use `getent`, `timeout`, `sh`). */
  readonly image: string;
  /** Resources of the Redis container. */
  readonly resources: Resources;
  /** Resources of the Sentinel container. @default requests 10m/16Mi, limits 100m/64Mi */
  readonly sentinelResources?: Resources;
  /** The cluster's DNS domain, in every host name. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Pods, each with one Redis and one Sentinel. @default 3 */
  readonly replicas?: number;
  /** Sentinels that must agree the master is down before a failover starts. @default 2 */
  readonly quorum?: number;
  /** The name Sentinel-aware clients ask for. @default 'mymaster' */
  readonly masterSet?: string;
  /** How long the master must be unreachable before a Sentinel considers it down. @default 5000 */
  readonly downAfterMilliseconds?: number;
  /** Sentinel failover-timeout (also the pause before the same master fails over again). @default 60000 */
  readonly failoverTimeoutMilliseconds?: number;
  /** A master refuses writes unless this many replicas are connected (0: never). @default 1 */
  readonly minReplicasToWrite?: number;
  /** … with a replication lag of at most this many seconds. @default 10 */
  readonly minReplicasMaxLag?: number;
  /** The Secret with the password; created by the user, never rendered. @default redis-ha-auth, key password */
  readonly auth?: { readonly secretName: string; readonly passwordKey: string };
  /** One PVC per pod; no class: the cluster's default StorageClass. @default 1Gi */
  readonly storage?: { readonly size: string; readonly className?: string };
  /** soft: prefer one pod per node; hard: require it (needs `replicas` nodes). @default 'soft' */
  readonly antiAffinity?: 'soft' | 'hard';
}

type Defaulted = Exclude<keyof RedisSentinelStatefulSetProps, 'name' | 'image' | 'resources'>;

/** The defaults of the optional props (the configuration schema uses the same values). */
export const REDIS_SENTINEL_DEFAULTS: Required<Pick<RedisSentinelStatefulSetProps, Defaulted>> = {
  sentinelResources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
  clusterDomain: 'cluster.local',
  replicas: 3,
  quorum: 2,
  masterSet: 'mymaster',
  downAfterMilliseconds: 5000,
  failoverTimeoutMilliseconds: 60_000,
  minReplicasToWrite: 1,
  minReplicasMaxLag: 10,
  auth: { secretName: 'redis-ha-auth', passwordKey: 'password' },
  storage: { size: '1Gi' },
  antiAffinity: 'soft',
};

/** Settings every Redis server shares; the start script adds identity, auth and role. */
export function redisConf(p: { minReplicasToWrite: number; minReplicasMaxLag: number; resources: Resources }): string {
  return [
    // Authentication (requirepass, added by the start script) protects the server.
    ...REPLICATED_REDIS_CONF,
    // Half the memory limit; at it writes are refused (the data is kept, never evicted).
    ...memoryConf(p.resources, 'noeviction'),
    // A master cut off from every replica stops accepting writes after the lag below, which
    // bounds what a failover can discard from it.
    `min-replicas-to-write ${p.minReplicasToWrite}`,
    `min-replicas-max-lag ${p.minReplicasMaxLag}`,
    '',
  ].join('\n');
}

// Probes are one-line `sh -c` commands (test/unit/constructs/scripts.test.ts lints them as
// rendered). `redis-cli ping` exits 0 even on an error reply, so each compares the reply text.
const AUTH_CLI = 'export REDISCLI_AUTH="$REDIS_PASSWORD"; ';
/** Alive while the server answers, including while loading or while its master is down. */
const REDIS_LIVENESS =
  AUTH_CLI +
  `reply="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping 2>&1)"; ` +
  'case "$reply" in PONG|LOADING*|MASTERDOWN*) exit 0;; *) echo "$reply"; exit 1;; esac';
/** Ready: master, or replica with its link up. */
const REDIS_READINESS =
  AUTH_CLI +
  `reply="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping 2>&1)"; [ "$reply" = PONG ] || { echo "$reply"; exit 1; }; ` +
  `info="$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} info replication | tr -d '\\r')"; ` +
  'case "$info" in *role:master*) exit 0;; *master_link_status:up*) exit 0;; *) echo "replica not linked to its master"; exit 1;; esac';
const SENTINEL_LIVENESS =
  AUTH_CLI +
  `reply="$(redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT} ping 2>&1)"; [ "$reply" = PONG ] || { echo "$reply"; exit 1; }`;
/** Ready: this Sentinel knows the master and enough Sentinels for quorum and majority. */
const SENTINEL_READINESS =
  AUTH_CLI +
  `reply="$(redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT} sentinel ckquorum "$MASTER_SET" 2>&1)"; case "$reply" in OK*) exit 0;; *) echo "$reply"; exit 1;; esac`;

export class RedisSentinelStatefulSet extends Construct {
  readonly configMap: k8s.KubeConfigMap;
  /** Per-pod host names, published before pods are ready. */
  readonly headlessService: k8s.KubeService;
  /** For Sentinel-aware clients. */
  readonly sentinelService: k8s.KubeService;
  readonly statefulSet: k8s.KubeStatefulSet;
  readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  /** The labels that select this StatefulSet's pods. */
  readonly podSelector: Record<string, string>;
  /** The env var holding the password, from the Secret (for clients in other pods too). */
  readonly passwordEnv: k8s.EnvVar;
  private readonly baseName: string;
  private readonly headlessName: string;
  private readonly clusterDomain: string;
  private readonly replicas: number;

  constructor(scope: Construct, id: string, props: RedisSentinelStatefulSetProps) {
    super(scope, id);
    const p = withDefaults(REDIS_SENTINEL_DEFAULTS, props);
    const { name } = p;
    this.baseName = name;
    this.headlessName = `${name}-headless`;
    this.clusterDomain = p.clusterDomain;
    this.replicas = p.replicas;
    const headless = this.headlessName;
    const base = { name: 'redis', instance: name, version: imageVersion(p.image) };
    const selector = { ...selectorLabels(base), 'app.kubernetes.io/component': 'server' };
    const labels = { ...recommendedLabels({ ...base, component: 'server' }) };
    const metadata = (n: string) => ({ name: n, labels });
    this.podSelector = selector;

    const configData: Record<string, string> = {
      'redis.conf': redisConf(p),
      'common.sh': fillTemplate('common.sh', commonSh, { SENTINEL_PORT }),
      'redis-start.sh': fillTemplate('redis-start.sh', redisStartSh, { REDIS_PORT }),
      'sentinel-start.sh': fillTemplate('sentinel-start.sh', sentinelStartSh, {
        SENTINEL_PORT,
        REDIS_PORT,
        QUORUM: p.quorum,
        DOWN_AFTER_MILLISECONDS: p.downAfterMilliseconds,
        FAILOVER_TIMEOUT_MILLISECONDS: p.failoverTimeoutMilliseconds,
      }),
    };
    this.configMap = new k8s.KubeConfigMap(this, 'config', { metadata: metadata(name), data: configData });

    const redisPort = { name: 'redis', port: REDIS_PORT, targetPort: k8s.IntOrString.fromString('redis') };
    const sentinelPort = { name: 'sentinel', port: SENTINEL_PORT, targetPort: k8s.IntOrString.fromString('sentinel') };
    // Stable per-pod names, published before pods are ready (a replica must find a master
    // that is still loading; Sentinels must find each other while a master is down).
    this.headlessService = new k8s.KubeService(this, 'headless', {
      metadata: metadata(headless),
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector, ports: [redisPort, sentinelPort] },
    });
    // Sentinel-aware clients. Not-ready pods stay in: a pod is not ready while its Redis
    // replica has no master, which is exactly when clients need its Sentinel.
    this.sentinelService = new k8s.KubeService(this, 'sentinel', {
      metadata: metadata(`${name}-sentinel`),
      spec: { publishNotReadyAddresses: true, selector, ports: [sentinelPort] },
    });

    this.passwordEnv = {
      name: 'REDIS_PASSWORD',
      valueFrom: { secretKeyRef: { name: p.auth.secretName, key: p.auth.passwordKey } },
    };
    const scriptEnv = [
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NAME', value: name },
      { name: 'REPLICAS', value: String(p.replicas) },
      { name: 'HEADLESS_DOMAIN', value: `${headless}.$(POD_NAMESPACE).svc.${p.clusterDomain}` },
      { name: 'MASTER_SET', value: p.masterSet },
      { name: 'AUTH_SECRET', value: `${p.auth.secretName}/${p.auth.passwordKey}` },
      this.passwordEnv,
    ];
    const probe = (
      script: string,
      q: { initialDelaySeconds?: number; periodSeconds: number; failureThreshold: number; timeoutSeconds?: number },
    ) => ({
      exec: { command: ['sh', '-c', script] },
      timeoutSeconds: q.timeoutSeconds ?? 3,
      initialDelaySeconds: q.initialDelaySeconds,
      periodSeconds: q.periodSeconds,
      failureThreshold: q.failureThreshold,
    });
    this.statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: metadata(name),
      spec: {
        serviceName: headless,
        replicas: p.replicas,
        // Roles come from the Sentinels (or pod 0 on a fresh start), not from start order.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels, annotations: { 'checksum/config': configChecksum(configData) } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSpec(REDIS_UID),
            terminationGracePeriodSeconds: 30,
            affinity: spreadOverNodes(selector, p.antiAffinity),
            containers: [
              {
                name: 'redis',
                image: p.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', `${CONFIG_DIR}/redis-start.sh`],
                env: scriptEnv,
                ports: [{ name: 'redis', containerPort: REDIS_PORT }],
                securityContext: restrictedContainerSpec(REDIS_UID),
                resources: toKubeResources(p.resources),
                // Loading a large data set can take a while: liveness starts after this.
                startupProbe: probe(REDIS_LIVENESS, { periodSeconds: 5, failureThreshold: 60 }),
                // Alive while it answers (LOADING and MASTERDOWN included): a replica whose
                // master is down must not be restarted.
                livenessProbe: probe(REDIS_LIVENESS, { periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 }),
                readinessProbe: probe(REDIS_READINESS, { periodSeconds: 5, failureThreshold: 3 }),
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'redis-run', mountPath: '/run/redis-ha' },
                ],
              },
              {
                name: 'sentinel',
                image: p.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', `${CONFIG_DIR}/sentinel-start.sh`],
                env: scriptEnv,
                ports: [{ name: 'sentinel', containerPort: SENTINEL_PORT }],
                securityContext: restrictedContainerSpec(REDIS_UID),
                resources: toKubeResources(p.sentinelResources),
                livenessProbe: probe(SENTINEL_LIVENESS, {
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  failureThreshold: 6,
                }),
                readinessProbe: probe(SENTINEL_READINESS, {
                  initialDelaySeconds: 5,
                  periodSeconds: 10,
                  failureThreshold: 3,
                }),
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
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
            metadata: { name: 'data', labels: selector },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: p.storage.className,
              resources: { requests: { storage: k8s.Quantity.fromString(p.storage.size) } },
            },
          },
        ],
      },
    });
    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: metadata(name),
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
  }

  /**
   * The stable host name of every Redis pod, `<name>-<i>.<name>-headless.<namespace>.svc.<domain>`.
   * `namespace` is whatever expands to the namespace where the names are used (a literal, or
   * e.g. HAProxy's `${POD_NAMESPACE}`), so the manifests stay namespace-agnostic.
   */
  podHostNames(namespace: string): { pod: string; host: string }[] {
    return Array.from({ length: this.replicas }, (_, i) => {
      const pod = `${this.baseName}-${i}`;
      return { pod, host: `${pod}.${this.headlessName}.${namespace}.svc.${this.clusterDomain}` };
    });
  }
}
