// Stack 3 of the tutorial: Redis master/replica by ordinal. Pod 0 is the master, every other
// pod replicates from pod 0's stable DNS name behind the headless Service. Roles are fixed:
// nothing promotes a replica when pod 0 dies (that is what the redis-ha stack adds).
//
// The StatefulSet is the L1 `KubeStatefulSet`: cdk8s-plus-28's StatefulSet has no
// volumeClaimTemplates and ties its Service selector to a construct-path label.
import { Chart, ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import { restrictedContainerSpec, restrictedPodSpec } from './hardening';
import {
  LIVENESS_SCRIPT,
  REDIS_PORT,
  REDIS_PORT_NAME,
  REDIS_UID,
  REPLICATED_REDIS_CONF,
  ROLE_READY_SCRIPT,
  RedisCommon,
  clientLabel,
  ingressPolicy,
  memoryConf,
  redisLabels,
  spreadOverNodes,
} from './redis-common';
import { toKubeResources } from './resources';
import { configChecksum, fillTemplate } from './template';
import { dnsLabel, dnsSubdomain, positiveQuantity, replicas } from './validation';
import startSh from './redis-statefulset/start.sh';

export const redisStatefulSetSchema = z.strictObject({
  name: dnsLabel()
    .max(52, 'must be at most 52 characters (pod names add an ordinal and the controller a hash)')
    .default('redis-sfs'),
  replicas: replicas(20).default(2),
  storage: z
    .strictObject({
      size: positiveQuantity().default('1Gi'),
      /** Omitted: the cluster's default StorageClass. */
      className: dnsSubdomain().optional(),
    })
    .default({ size: '1Gi' }),
  /** The Secret with the password, created by the user (never rendered): see docs/redis.md. */
  auth: z
    .strictObject({
      secretName: dnsSubdomain().default('redis-sfs-auth'),
      passwordKey: z
        .string()
        .regex(/^[-._a-zA-Z0-9]{1,253}$/, "must be a Secret key: letters, digits, '-', '_' or '.'")
        .default('password'),
    })
    .prefault({}),
});
export type RedisStatefulSetConfig = z.output<typeof redisStatefulSetSchema>;

export interface RedisStatefulSetChartProps extends ChartProps {
  readonly config: RedisStatefulSetConfig;
  readonly redis: RedisCommon;
  readonly clusterDomain: string;
}

/**
 * redis.conf shared by every ordinal; the role is chosen on the command line. The data is
 * kept (AOF on a PVC), so at maxmemory writes are refused, never keys evicted.
 */
export function replicationConf(redis: RedisCommon): string {
  return [...REPLICATED_REDIS_CONF, ...memoryConf(redis.resources, 'noeviction'), ''].join('\n');
}

/** Where the start script writes the runtime redis.conf (the ConfigMap's plus the password). */
const RUN_DIR = '/run/redis-sfs';

/**
 * The container's start script. Ordinal 0 starts as master; any other ordinal starts as a
 * replica of pod 0's DNS name. Redis itself retries a master it cannot resolve or reach (once
 * a second), so a replica that starts before pod 0's name exists waits instead of crashing.
 * The script is redis-statefulset/start.sh, imported as text (see text-files.d.ts).
 */
export const START_SCRIPT = fillTemplate('start.sh', startSh, { REDIS_PORT, RUN_DIR });

/** Probes authenticate with the password from the environment (redis-cli reads REDISCLI_AUTH). */
const AUTH_CLI = 'export REDISCLI_AUTH="$REDIS_PASSWORD"; ';

export class RedisStatefulSetChart extends Chart {
  constructor(scope: Construct, id: string, props: RedisStatefulSetChartProps) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
    const { name, storage, auth } = props.config;
    const cfg = props.redis;
    const labels = redisLabels(name, cfg.image);
    const metadata = (n: string) => ({ name: n, labels: labels.metadata });
    const port = { name: REDIS_PORT_NAME, port: REDIS_PORT, targetPort: k8s.IntOrString.fromString(REDIS_PORT_NAME) };

    const configData = { 'redis.conf': replicationConf(cfg) };
    new k8s.KubeConfigMap(this, 'config', { metadata: metadata(name), data: configData });

    // Headless: gives each pod the DNS name <pod>.<name>.<ns>.svc.<domain>, published before
    // the pod is ready so replicas can find a master that is still loading.
    new k8s.KubeService(this, 'headless', {
      metadata: metadata(name),
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: labels.selector, ports: [port] },
    });
    // Write endpoint: always pod 0, the master.
    new k8s.KubeService(this, 'master', {
      metadata: metadata(`${name}-master`),
      spec: { selector: { ...labels.selector, 'statefulset.kubernetes.io/pod-name': `${name}-0` }, ports: [port] },
    });
    // Read endpoint: every ready pod. A replica stays ready while its master is down (it serves
    // possibly stale data), so reads keep working exactly when pod 0 is gone.
    new k8s.KubeService(this, 'read', {
      metadata: metadata(`${name}-read`),
      spec: { selector: labels.selector, ports: [port] },
    });

    const masterHost = `${name}-0.${name}.$(POD_NAMESPACE).svc.${props.clusterDomain}`;
    const probe = (
      script: string,
      p: { initialDelaySeconds: number; periodSeconds: number; failureThreshold: number },
    ) => ({
      exec: { command: ['sh', '-c', script] },
      timeoutSeconds: 3,
      ...p,
    });
    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: metadata(name),
      spec: {
        serviceName: name,
        replicas: props.config.replicas,
        // Replicas retry their master themselves, so pods need not start one by one.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: labels.selector },
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          // A changed redis.conf rolls the pods (Redis reads it only at start).
          metadata: { labels: labels.metadata, annotations: { 'checksum/config': configChecksum(configData) } },
          spec: {
            automountServiceAccountToken: false,
            securityContext: restrictedPodSpec(REDIS_UID),
            terminationGracePeriodSeconds: 30,
            affinity: spreadOverNodes(labels.selector),
            containers: [
              {
                name: 'redis',
                image: cfg.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '-c', START_SCRIPT],
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'MASTER_HOST', value: masterHost },
                  { name: 'AUTH_SECRET', value: `${auth.secretName}/${auth.passwordKey}` },
                  {
                    name: 'REDIS_PASSWORD',
                    valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.passwordKey } },
                  },
                ],
                ports: [{ name: REDIS_PORT_NAME, containerPort: REDIS_PORT }],
                securityContext: restrictedContainerSpec(REDIS_UID),
                resources: toKubeResources(cfg.resources),
                // Alive while it answers at all (a replica whose master is down still is).
                livenessProbe: probe(AUTH_CLI + LIVENESS_SCRIPT, {
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  failureThreshold: 6,
                }),
                // Ready when master, or a replica that has synced since it started (link up, or
                // down and serving stale data).
                readinessProbe: probe(AUTH_CLI + ROLE_READY_SCRIPT, {
                  initialDelaySeconds: 2,
                  periodSeconds: 5,
                  failureThreshold: 3,
                }),
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 'config', mountPath: '/etc/redis', readOnly: true },
                  { name: 'run', mountPath: RUN_DIR },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name } },
              // The runtime redis.conf holds the password: in memory, never on the PVC.
              { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: labels.selector },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: storage.className,
              resources: { requests: { storage: k8s.Quantity.fromString(storage.size) } },
            },
          },
        ],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: metadata(name),
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: labels.selector } },
    });

    // Clients labelled <name>-client=true, and the other ordinals (replication).
    ingressPolicy(this, 'network-policy', {
      name,
      labels: labels.metadata,
      podSelector: labels.selector,
      rules: [
        {
          from: [
            { podSelector: { matchLabels: clientLabel(name) } },
            { podSelector: { matchLabels: labels.selector } },
          ],
          ports: [REDIS_PORT],
        },
      ],
    });
  }
}
