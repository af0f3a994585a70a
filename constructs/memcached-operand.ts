// What the operator runs for one Memcached object: a Deployment and a headless Service.
// The operator renders this construct in memory for every reconcile and server-side applies
// the result, so this file is the one description of the operand.
//
// It uses the L1 `k8s.Kube*` classes on purpose: under server-side apply the operator owns
// exactly the fields rendered here, and cdk8s-plus would add many defaulted fields (and a
// construct-path label) that the operator would then own and fight over for no benefit.
import { ApiObject, App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { restrictedContainerSpec, restrictedPodSpec } from './hardening';
import { imageVersion, labelValue, recommendedLabels } from './labels';
import { MEMCACHED_KIND, MemcachedSpec, FIELD_MANAGER } from './memcached-api';

/** The official memcached image's own user (`memcache`). */
export const MEMCACHED_UID = 11211;
export const MEMCACHED_PORT_NAME = 'memcached';
export const MEMCACHED_MEMORY_MB = 64;

export interface MemcachedOwner {
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

export interface MemcachedOperandProps {
  readonly owner: MemcachedOwner;
  readonly spec: MemcachedSpec;
  /** Pinned memcached image (the operator's MEMCACHED_IMAGE). */
  readonly image: string;
}

/**
 * Pod selector for one Memcached object. `instance` is unique per object in a namespace, so no
 * two caches ever select each other's pods (the Go sample shares one selector per namespace).
 */
export function memcachedSelector(crName: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'memcached', 'app.kubernetes.io/instance': instanceValue(crName) };
}

/** Selector in the string form the scale subresource expects. */
export function selectorString(crName: string): string {
  return Object.entries(memcachedSelector(crName))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Label values are limited to 63 characters; longer object names get a stable hash suffix. */
function instanceValue(name: string): string {
  if (name.length <= 63) return name;
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `${labelValue(name.slice(0, 54))}-${h.toString(16).padStart(8, '0')}`;
}

export function memcachedLabels(crName: string, image: string): Record<string, string> {
  return {
    ...recommendedLabels({
      name: 'memcached',
      instance: instanceValue(crName),
      component: 'cache',
      version: imageVersion(image),
      managedBy: FIELD_MANAGER,
    }),
    // The tutorial's labels, kept for people and scripts that list pods by them.
    app: 'memcached',
    memcached_cr: instanceValue(crName),
  };
}

export class MemcachedOperand extends Construct {
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: MemcachedOperandProps) {
    super(scope, id);
    const { owner, spec, image } = props;
    const labels = memcachedLabels(owner.name, image);
    const selector = memcachedSelector(owner.name);
    const metadata = {
      name: owner.name,
      namespace: owner.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: owner.apiVersion,
          kind: MEMCACHED_KIND,
          name: owner.name,
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    };
    const port = k8s.IntOrString.fromString(MEMCACHED_PORT_NAME);

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata,
      spec: {
        replicas: spec.size,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSpec(MEMCACHED_UID),
            containers: [
              {
                name: 'memcached',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: [
                  'memcached',
                  '-m',
                  String(MEMCACHED_MEMORY_MB),
                  '-o',
                  'modern',
                  '-v',
                  '-p',
                  String(spec.containerPort),
                ],
                ports: [{ name: MEMCACHED_PORT_NAME, containerPort: spec.containerPort, protocol: 'TCP' }],
                securityContext: restrictedContainerSpec(MEMCACHED_UID),
                resources: {
                  // The cache itself is capped at 64 MiB (-m 64); the rest is connection buffers.
                  requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('96Mi') },
                  limits: { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('128Mi') },
                },
                readinessProbe: { tcpSocket: { port }, periodSeconds: 5, failureThreshold: 3 },
                livenessProbe: { tcpSocket: { port }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 3 },
              },
            ],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata,
      // Headless: memcached is sharded by its clients (consistent hashing over the server
      // list), so they need every pod's address; a virtual IP would spread the keys of one
      // client over random pods and turn most gets into misses. It also spares the API server
      // an IP allocation per object (the slowest write of a burst of new objects).
      spec: {
        clusterIp: 'None',
        selector,
        ports: [{ name: MEMCACHED_PORT_NAME, port: spec.containerPort, targetPort: port, protocol: 'TCP' }],
      },
    });
  }
}

/** A rendered object: cdk8s's `toJson()` gives plain, untyped JSON. */
export type RenderedObject = ReturnType<ApiObject['toJson']>;

export interface RenderedOperand {
  readonly deployment: RenderedObject;
  readonly service: RenderedObject;
}

/** Renders the operand in memory (no files): what the operator server-side applies. */
export function renderMemcachedOperand(props: MemcachedOperandProps): RenderedOperand {
  const chart = new Chart(new App({ outdir: '/nonexistent' }), 'operand', { disableResourceNameHashes: true });
  const operand = new MemcachedOperand(chart, 'memcached', props);
  return { deployment: operand.deployment.toJson(), service: operand.service.toJson() };
}
