// Registers the Memcached controller on a manager: Memcached objects are the primary type;
// the Deployments and Services they control and their pods map back to them; one queue keyed
// by namespace/name feeds the reconciler, which reads the manager's caches.
import {
  FIELD_MANAGER,
  MEMCACHED_KIND,
  MEMCACHED_PLURAL,
  MEMCACHED_VERSION,
  memcachedGroup,
} from '../../constructs/memcached-api';
import { memcachedSelector } from '../../constructs/memcached-operand';
import type { Controller } from '../runtime/controller';
import { enqueueForObject, enqueueForOwner, enqueueMapped } from '../runtime/handler';
import type { Manager } from '../runtime/manager/manager';
import { keyOf, objectKey, type KubeObject, type ResourceRef } from '../runtime/object';
import { or, specChanged } from '../runtime/predicate';
import { Caches, Reconciler } from './reconcile';
import { KubeWriter } from './writer';

export const CONTROLLER_NAME = 'memcached';
const INSTANCE_LABEL = 'app.kubernetes.io/instance';
const OPERAND_PODS = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;

const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true };
const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', namespaced: true };
const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods', namespaced: true };

export interface MemcachedControllerOptions {
  /** The API group is cache.<groupDomain>. */
  readonly groupDomain: string;
  /** Pinned memcached image (MEMCACHED_IMAGE). */
  readonly image: string;
  /** Default: the manager's --max-concurrent-reconciles. */
  readonly workers?: number;
}

export function setupMemcachedController(mgr: Manager, o: MemcachedControllerOptions): { controller: Controller; reconciler: Reconciler } {
  const group = memcachedGroup(o.groupDomain);
  const memcacheds = mgr.informer({ group, version: MEMCACHED_VERSION, plural: MEMCACHED_PLURAL, namespaced: true });
  const deployments = mgr.informer(DEPLOYMENTS);
  const services = mgr.informer(SERVICES);
  const pods = mgr.informer(PODS, { labelSelector: OPERAND_PODS });

  // Pods are found by their instance label; Memcached objects by the instance value they
  // give their pods (the name, or a hashed form for names over 63 characters).
  const podInstance = (p: KubeObject) => p.metadata.labels?.[INSTANCE_LABEL];
  pods.addIndex('instance', (p) => (podInstance(p) ? [objectKey(p.metadata.namespace, podInstance(p)!)] : []));
  memcacheds.addIndex('instance', (m) => [objectKey(m.metadata.namespace, memcachedSelector(m.metadata.name)[INSTANCE_LABEL])]);

  const caches: Caches = {
    memcached: (ns, n) => memcacheds.get(ns, n),
    deployment: (ns, n) => deployments.get(ns, n),
    service: (ns, n) => services.get(ns, n),
    pods: (ns, selector) =>
      pods
        .byIndex('instance', objectKey(ns, selector[INSTANCE_LABEL]))
        .filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v)),
  };
  const reconciler = new Reconciler({
    caches,
    writer: new KubeWriter(mgr.kubeConfig, mgr.identity),
    image: o.image,
    log: mgr.log.child({ controller: CONTROLLER_NAME }),
  });
  const controller = mgr.newController({ name: CONTROLLER_NAME, workers: o.workers, reconcile: (key) => reconciler.reconcile(key) });

  // A new, changed or deleted Memcached goes ahead of status refreshes. The echo of the
  // operator's own status write (nothing else changed) needs no reconcile at all.
  const urgentUpdate = (old: KubeObject, cur: KubeObject) => specChanged.update!(old, cur);
  controller.watch(
    memcacheds,
    enqueueForObject({ create: 'high', delete: 'high', update: (old, cur) => (urgentUpdate(old, cur) ? 'high' : 'normal') }),
    or(specChanged, { update: (_old, cur) => !reconciler.isOwnStatusWrite(keyOf(cur), cur) }),
  );
  // A Deployment or Service concerns the Memcached that controls it, or, when it has no such
  // owner, the Memcached of the same name (whose conflict it causes or resolves).
  const owner = enqueueForOwner({ group, kind: MEMCACHED_KIND }, { unowned: (obj) => (memcacheds.get(obj.metadata.namespace, obj.metadata.name) ? [keyOf(obj)] : []) });
  controller.watch(deployments, owner).watch(services, owner);
  // A pod concerns the Memcached objects whose instance label it carries.
  controller.watch(
    pods,
    enqueueMapped((p) => {
      const instance = podInstance(p);
      return instance ? memcacheds.byIndex('instance', objectKey(p.metadata.namespace, instance)).map(keyOf) : [];
    }),
  );
  return { controller, reconciler };
}
