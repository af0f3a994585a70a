// Everything the Memcached operator needs in a cluster: its Namespace, the CRD, RBAC derived
// from memcached-api.ts, the operator Deployment and its metrics Service.
import { Chart, ChartProps, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import { restrictedContainer, restrictedPod } from './hardening';
import { imageVersion, recommendedLabels, selectorLabels } from './labels';
import {
  DEFAULT_GROUP_DOMAIN,
  DEFAULT_MEMCACHED_IMAGE,
  DEFAULT_OPERATOR_NAMESPACE,
  editorRules,
  leaderElectionRules,
  operatorRules,
  PolicyRule,
  viewerRules,
} from './memcached-api';
import { MemcachedCrd } from './memcached-crd';
import { DEFAULT_OPERATOR_IMAGE } from './release';
import { toKplusResources } from './resources';
import { dnsLabel, dnsSubdomain, memoryMi, pinnedImage, replicas, resources } from './validation';

export const OPERATOR_UID = 1000; // the node image's `node` user
export const HEALTH_PORT = 8081;
export const METRICS_PORT = 8080;
/** Pods with this label set to "true" (any namespace) may scrape the operator's metrics. */
export const METRICS_CLIENT_LABEL = 'memcached-operator-metrics-client';
/** Where the image keeps the bundled operator, relative to its working directory /app. */
export const OPERATOR_ENTRY = 'build/operator.mjs';

export const memcachedOperatorSchema = z.strictObject({
  namespace: dnsLabel().default(DEFAULT_OPERATOR_NAMESPACE),
  /** The CRD's group is `cache.<groupDomain>`. */
  groupDomain: dnsSubdomain().default(DEFAULT_GROUP_DOMAIN),
  /** Defaults to the released image of this version (constructs/release.ts). */
  image: pinnedImage().default(DEFAULT_OPERATOR_IMAGE),
  memcachedImage: pinnedImage().default(DEFAULT_MEMCACHED_IMAGE),
  replicas: replicas(5).default(1),
  /** Reconciles run in parallel (never two for the same object). */
  workers: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(64, 'must be at most 64')
    .default(4),
  /** Namespaces to watch; empty: all namespaces. */
  watchNamespaces: z.array(dnsLabel()).default([]),
  logLevel: z.enum(['debug', 'info', 'error']).default('info'),
  resources: resources({
    requests: { cpu: '10m', memory: '64Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
  }),
});
export type MemcachedOperatorConfig = z.output<typeof memcachedOperatorSchema>;

export interface MemcachedOperatorChartProps extends ChartProps {
  readonly config: MemcachedOperatorConfig;
}

/** The operator's command line, exactly as the Deployment runs it (tests run the same). */
export function operatorArgs(cfg: MemcachedOperatorConfig): string[] {
  return [
    '--leader-elect',
    `--health-probe-bind-address=:${HEALTH_PORT}`,
    `--metrics-bind-address=:${METRICS_PORT}`,
    `--zap-log-level=${cfg.logLevel}`,
    `--max-concurrent-reconciles=${cfg.workers}`,
  ];
}

/**
 * Node's command line flags for a container with this memory limit. Node sizes its heap from
 * the cgroup limit at best (and from the host's memory where it cannot read it), and V8 lets
 * the old generation alone grow to about the whole limit, so the kernel would kill the pod
 * before a full GC ran. Half the limit for the old generation leaves room for code, buffers
 * and the young generation. Each young semi-space gets 1/64 of the limit (1 to 16 MiB; 4 for
 * the default 256Mi). Both semi-spaces stay resident: at 8 MiB they were 14 MiB of the
 * operator's peak at 1000 objects, at 4 MiB they are 7.5, for twice the scavenges (355
 * instead of 180, 1.3 instead of 1.0 s of pauses in the run); at 2 MiB they doubled again
 * (722, 2.1 s) for 3.5 MiB less (docs/benchmarks.md).
 */
export function nodeHeapFlags(memoryLimitMi: number): string[] {
  const oldSpace = Math.max(32, Math.floor(memoryLimitMi / 2));
  const semiSpace = Math.min(16, Math.max(1, Math.floor(memoryLimitMi / 64)));
  return [`--max-old-space-size=${oldSpace}`, `--max-semi-space-size=${semiSpace}`];
}

/**
 * V8's optimising tiers stop at Maglev (`--max-opt=2`): TurboFan never runs. Once it runs, its
 * compiler code in the node binary stays resident (file pages count in RSS: 5.2 MiB at 1000
 * objects) and its background compile jobs grow a malloc arena (2 to 8 MiB at the peak, varying
 * run to run). The operator's CPU goes to JSON, TLS and the API server's answers more than to
 * long-running JavaScript: for the whole run it stayed within the run-to-run spread, with about
 * a quarter more scavenges (docs/benchmarks.md, "Memory at stop 21").
 */
export const NODE_JIT_FLAGS = ['--max-opt=2'];

/** The operator container's command: node, its flags, the bundle. */
export function operatorCommand(cfg: MemcachedOperatorConfig): string[] {
  return ['node', ...nodeHeapFlags(memoryMi(cfg.resources.limits.memory)), ...NODE_JIT_FLAGS, OPERATOR_ENTRY];
}

export class MemcachedOperatorChart extends Chart {
  constructor(scope: Construct, id: string, props: MemcachedOperatorChartProps) {
    // No chart-wide namespace: cdk8s would stamp it on cluster-scoped objects (the Namespace,
    // CRD, ClusterRoles) too. Namespaced objects name theirs below.
    super(scope, id, { ...props, disableResourceNameHashes: true });
    const cfg = props.config;
    const name = 'memcached-operator';
    const base = { name, instance: name, component: 'controller', version: imageVersion(cfg.image) };
    const labels = recommendedLabels(base);
    const selector = selectorLabels(base);
    const meta = (n: string) => ({ name: n, namespace: cfg.namespace, labels });
    const clusterMeta = (n: string) => ({ name: n, labels });

    new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: cfg.namespace,
        labels: {
          ...labels,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    });
    new MemcachedCrd(this, 'crd', { groupDomain: cfg.groupDomain, labels });

    // RBAC: cluster-wide rules for the reconciler, namespaced rules for leader election.
    const sa = new kplus.ServiceAccount(this, 'service-account', { metadata: meta(name), automountToken: true });
    const subjects = [{ kind: 'ServiceAccount', name, namespace: cfg.namespace }];
    new k8s.KubeClusterRole(this, 'manager-role', {
      metadata: clusterMeta(`${name}-manager`),
      rules: toKube(operatorRules(cfg.groupDomain)),
    });
    new k8s.KubeClusterRoleBinding(this, 'manager-binding', {
      metadata: clusterMeta(`${name}-manager`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${name}-manager` },
      subjects,
    });
    new k8s.KubeRole(this, 'leader-election-role', {
      metadata: meta(`${name}-leader-election`),
      rules: toKube(leaderElectionRules()),
    });
    new k8s.KubeRoleBinding(this, 'leader-election-binding', {
      metadata: meta(`${name}-leader-election`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-leader-election` },
      subjects,
    });
    // For people: aggregated into the built-in view/edit roles, so existing bindings cover it.
    new k8s.KubeClusterRole(this, 'viewer-role', {
      metadata: {
        name: 'memcached-viewer',
        labels: { ...labels, 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
      },
      rules: toKube(viewerRules(cfg.groupDomain)),
    });
    new k8s.KubeClusterRole(this, 'editor-role', {
      metadata: {
        name: 'memcached-editor',
        labels: {
          ...labels,
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
        },
      },
      rules: toKube(editorRules(cfg.groupDomain)),
    });

    const env: Record<string, kplus.EnvValue> = {
      MEMCACHED_IMAGE: kplus.EnvValue.fromValue(cfg.memcachedImage),
      POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
      MEMCACHED_GROUP_DOMAIN: kplus.EnvValue.fromValue(cfg.groupDomain),
      // glibc gives every thread that mallocs (V8's compiler and GC helpers, libuv's pool) an
      // arena of its own, and freed memory stays in it: 12 MiB of the peak at 1000 objects
      // with the default, 4 MiB with two arenas (docs/benchmarks.md).
      MALLOC_ARENA_MAX: kplus.EnvValue.fromValue('2'),
    };
    if (cfg.watchNamespaces.length > 0) env.WATCH_NAMESPACE = kplus.EnvValue.fromValue(cfg.watchNamespaces.join(','));

    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata: meta(name),
      replicas: cfg.replicas,
      select: false,
      serviceAccount: sa,
      automountServiceAccountToken: true,
      securityContext: restrictedPod(OPERATOR_UID),
      terminationGracePeriod: Duration.seconds(30),
      containers: [
        {
          name: 'manager',
          image: cfg.image,
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          command: operatorCommand(cfg),
          args: operatorArgs(cfg),
          envVariables: env,
          ports: [
            { number: METRICS_PORT, name: 'metrics' },
            { number: HEALTH_PORT, name: 'health' },
          ],
          securityContext: restrictedContainer(OPERATOR_UID),
          resources: toKplusResources(cfg.resources),
          liveness: kplus.Probe.fromHttpGet('/healthz', {
            port: HEALTH_PORT,
            initialDelaySeconds: Duration.seconds(15),
            periodSeconds: Duration.seconds(20),
          }),
          readiness: kplus.Probe.fromHttpGet('/readyz', {
            port: HEALTH_PORT,
            initialDelaySeconds: Duration.seconds(5),
            periodSeconds: Duration.seconds(10),
          }),
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels: selector }));
    for (const [k, v] of Object.entries(labels)) deployment.podMetadata.addLabel(k, v);

    new k8s.KubeService(this, 'metrics-service', {
      metadata: meta(`${name}-metrics`),
      spec: {
        selector,
        ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics') }],
      },
    });

    // Nothing but metrics scrapers needs to reach the operator (it serves no webhook; kubelet
    // probes of the health port come from the node): pods labelled
    // memcached-operator-metrics-client=true, in any namespace, on the metrics port.
    new k8s.KubeNetworkPolicy(this, 'network-policy', {
      metadata: meta(name),
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: {}, podSelector: { matchLabels: { [METRICS_CLIENT_LABEL]: 'true' } } }],
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(METRICS_PORT) }],
          },
        ],
      },
    });
  }
}

function toKube(rules: PolicyRule[]): k8s.PolicyRule[] {
  return rules.map((r) => ({
    apiGroups: r.apiGroups,
    resources: r.resources,
    verbs: r.verbs,
    resourceNames: r.resourceNames,
  }));
}
