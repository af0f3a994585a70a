// The write endpoint for clients that do not speak Sentinel: Service <serviceName> in front of
// a Deployment of HAProxy. HAProxy checks every Redis server with AUTH + `INFO replication`
// once a second and forwards only to the one that reports `role:master` (and cuts connections
// to a server that stops being master). This needs no Kubernetes API access at all (no
// ServiceAccount token, no Role), unlike a role label kept current by a sidecar or by
// Sentinel's reconfig script, which needs `patch pods` in the namespace and a token in every
// Redis pod; and a role label only moves after the kubelet and the endpoints controller have
// seen it, while HAProxy's own checks see the promotion directly. Objects: ConfigMap <name>
// (haproxy.cfg), Service <serviceName>, Deployment <name>, PodDisruptionBudget <name>.
//
// haproxy.cfg is a real file beside this one (`@NAME@` placeholders filled at synth),
// imported as text: see ../text-files.d.ts.
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { restrictedContainerSpec, restrictedPodSpec } from '../hardening';
import { imageVersion, recommendedLabels, selectorLabels } from '../labels';
import { withDefaults } from '../props';
import { REDIS_PORT, spreadOverNodes } from '../redis-common';
import { toKubeResources } from '../resources';
import { configChecksum, fillTemplate } from '../template';
import type { Resources } from '../validation';
import haproxyCfgTemplate from './haproxy.cfg';

/** The official haproxy image's own `haproxy` user. */
export const HAPROXY_UID = 99;
/** HTTP: /healthz on this port, /ready (a master is up) on the next one. */
const HEALTH_PORT = 8404;

export interface RedisMasterProxyProps {
  /** Name of the Deployment, its ConfigMap and PDB; also the pods' instance label. */
  readonly name: string;
  /** Name of the Service clients connect to (port 6379). */
  readonly serviceName: string;
  /**
   * The Redis servers to check, by stable host name. `${POD_NAMESPACE}` in a host name is
   * expanded by HAProxy from the pod's namespace (downward API).
   */
  readonly servers: readonly { readonly pod: string; readonly host: string }[];
  /** The env var with the Redis password (a Secret reference): used for AUTH in the checks. */
  readonly passwordEnv: k8s.EnvVar;
  /** @default 'haproxy:3.2.6' */
  readonly image?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** @default requests 10m/32Mi, limits 200m/128Mi */
  readonly resources?: Resources;
}

type Defaulted = 'image' | 'replicas' | 'resources';

/** The defaults of the optional props (the configuration schema uses the same values). */
export const REDIS_MASTER_PROXY_DEFAULTS: Required<Pick<RedisMasterProxyProps, Defaulted>> = {
  image: 'haproxy:3.2.6',
  replicas: 2,
  resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
};

/**
 * haproxy.cfg: forward to whichever server answers `role:master`; never to a replica. Notes on
 * the template (kept here: comments in it would land in the ConfigMap):
 * - `resolvers cluster` parses the pod's resolv.conf (cluster DNS) and re-resolves server
 *   names, so a Redis pod that comes back with a new IP is found again;
 * - client and server timeouts are an hour: Redis connections idle for long (pub/sub,
 *   blocking pops) and must not be cut;
 * - servers are checked every second; one failed check marks a server down and closes the
 *   clients' connections to it, so they reconnect through here to the new master.
 */
export function haproxyCfg(servers: RedisMasterProxyProps['servers']): string {
  return fillTemplate('haproxy.cfg', haproxyCfgTemplate, {
    HEALTH_PORT,
    READY_PORT: HEALTH_PORT + 1,
    REDIS_PORT,
    // HAProxy expands ${POD_NAMESPACE} in quoted strings: the manifests work in whatever
    // namespace they are applied to, like the StatefulSet's $(POD_NAMESPACE).
    SERVERS: servers.map((s) => `  server ${s.pod} "${s.host}:${REDIS_PORT}"`).join('\n'),
  });
}

export class RedisMasterProxy extends Construct {
  readonly configMap: k8s.KubeConfigMap;
  readonly service: k8s.KubeService;
  readonly deployment: k8s.KubeDeployment;
  readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  /** The labels that select the HAProxy pods. */
  readonly podSelector: Record<string, string>;

  constructor(scope: Construct, id: string, props: RedisMasterProxyProps) {
    super(scope, id);
    const p = withDefaults(REDIS_MASTER_PROXY_DEFAULTS, props);
    const base = { name: 'haproxy', instance: p.name, version: imageVersion(p.image) };
    const selector = selectorLabels(base);
    this.podSelector = selector;
    const labels = recommendedLabels({ ...base, component: 'proxy' });
    const metadata = (n: string) => ({ name: n, labels });

    const data = { 'haproxy.cfg': haproxyCfg(p.servers) };
    this.configMap = new k8s.KubeConfigMap(this, 'config', { metadata: metadata(p.name), data });
    this.service = new k8s.KubeService(this, 'service', {
      metadata: metadata(p.serviceName),
      spec: { selector, ports: [{ name: 'redis', port: REDIS_PORT, targetPort: k8s.IntOrString.fromString('redis') }] },
    });
    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(p.name),
      spec: {
        replicas: p.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels, annotations: { 'checksum/config': configChecksum(data) } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSpec(HAPROXY_UID),
            affinity: spreadOverNodes(selector),
            containers: [
              {
                name: 'haproxy',
                image: p.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['haproxy', '-W', '-db', '-f', '/etc/haproxy-ha/haproxy.cfg'],
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  p.passwordEnv,
                ],
                ports: [
                  { name: 'redis', containerPort: REDIS_PORT },
                  { name: 'health', containerPort: HEALTH_PORT },
                  { name: 'ready', containerPort: HEALTH_PORT + 1 },
                ],
                securityContext: restrictedContainerSpec(HAPROXY_UID),
                resources: toKubeResources(p.resources),
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
            volumes: [{ name: 'config', configMap: { name: p.name, defaultMode: 0o444 } }],
          },
        },
      },
    });
    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: metadata(p.name),
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
  }
}
