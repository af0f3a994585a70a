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
import { delayed, enqueueForObject, enqueueForOwner, enqueueMapped, type EventKind } from '../runtime/handler';
import type { Manager } from '../runtime/manager/manager';
import { controllerOf, keyOf, objectKey, type KubeObject } from '../runtime/object';
import { or, specChanged } from '../runtime/predicate';
import { Caches, Reconciler } from './reconcile';
import { DEPLOYMENTS, PODS, SERVICES } from './resources';
import { KubeWriter } from './writer';

export const CONTROLLER_NAME = 'memcached';
const INSTANCE_LABEL = 'app.kubernetes.io/instance';
const OPERAND_PODS = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;

export interface MemcachedControllerOptions {
  /** The API group is cache.<groupDomain>. */
  readonly groupDomain: string;
  /** Pinned memcached image (MEMCACHED_IMAGE). */
  readonly image: string;
  /** Default: the manager's --max-concurrent-reconciles. */
  readonly workers?: number;
  /**
   * Pod events and Deployment progress (a pod created, scheduled, ready) refresh status this
   * long after the first such event, so that the steps of one rollout become one status write
   * instead of one each. A Deployment that changed spec, finished its rollout or failed it,
   * and anything about the Memcached itself, is reconciled at once. Default 1000 ms. (The
   * reconciler further limits progress-only status writes; see progressIntervalMs.)
   */
  readonly statusRefreshDelayMs?: number;
}

/**
 * True when a Deployment or Service event must be handled at once: it is deleted, somebody
 * else's (a conflict), its spec changed (an edit, drift to repair) or its rollout reached an
 * end (complete or failed), which is when status changes in a way a user waits for. The
 * arrival of an object the operator just created, and rollout progress, may be coalesced.
 */
export function operandEventIsUrgent(event: EventKind, d: KubeObject, old?: KubeObject): boolean {
  if (event === 'delete' || !controllerOf(d)) return true;
  if (event === 'create') return false;
  if (!old || d.metadata.generation !== old.metadata.generation || d.metadata.deletionTimestamp) return true;
  if (d.kind !== 'Deployment') return true;
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  const failed = (s.conditions ?? []).some(
    (c: { type: string; reason?: string }) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
  );
  const complete =
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    (s.replicas ?? 0) === want &&
    (s.updatedReplicas ?? 0) === want &&
    (s.readyReplicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want;
  return complete || failed;
}

/**
 * What the pod cache keeps of a pod: the reconciler reads names, labels (the instance index)
 * and deletion, so spec and status, a pod's bulk, never enter the cache.
 */
export function slimPod(p: KubeObject): KubeObject {
  const m = p.metadata ?? {};
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: m.labels,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
  };
}

function sameLabels(a: KubeObject, b: KubeObject): boolean {
  const x = a.metadata.labels ?? {};
  const y = b.metadata.labels ?? {};
  return Object.keys(x).length === Object.keys(y).length && Object.entries(x).every(([k, v]) => y[k] === v);
}

export function setupMemcachedController(
  mgr: Manager,
  o: MemcachedControllerOptions,
): { controller: Controller; reconciler: Reconciler } {
  const group = memcachedGroup(o.groupDomain);
  const memcacheds = mgr.informer({ group, version: MEMCACHED_VERSION, plural: MEMCACHED_PLURAL, namespaced: true });
  const deployments = mgr.informer(DEPLOYMENTS);
  const services = mgr.informer(SERVICES);
  const pods = mgr.informer(PODS, { labelSelector: OPERAND_PODS, transform: slimPod, metadataOnly: true });

  // Pods are found by their instance label; Memcached objects by the instance value they
  // give their pods (the name, or a hashed form for names over 63 characters).
  const podInstance = (p: KubeObject) => p.metadata.labels?.[INSTANCE_LABEL];
  pods.addIndex('instance', (p) => (podInstance(p) ? [objectKey(p.metadata.namespace, podInstance(p)!)] : []));
  memcacheds.addIndex('instance', (m) => [
    objectKey(m.metadata.namespace, memcachedSelector(m.metadata.name)[INSTANCE_LABEL]),
  ]);

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
  const controller = mgr.newController({
    name: CONTROLLER_NAME,
    workers: o.workers,
    reconcile: (key) => reconciler.reconcile(key),
  });

  // A new, changed or deleted Memcached goes ahead of status refreshes. The echo of the
  // operator's own status write (nothing else changed) needs no reconcile at all.
  const urgentUpdate = (old: KubeObject, cur: KubeObject) => specChanged.update!(old, cur);
  controller.watch(
    memcacheds,
    enqueueForObject({
      create: 'high',
      delete: 'high',
      update: (old, cur) => (urgentUpdate(old, cur) ? 'high' : 'normal'),
    }),
    or(specChanged, { update: (_old, cur) => !reconciler.isOwnStatusWrite(keyOf(cur), cur) }),
  );
  // A Deployment or Service concerns the Memcached that controls it, or, when it has no such
  // owner, the Memcached of the same name (whose conflict it causes or resolves).
  const owner = enqueueForOwner(
    { group, kind: MEMCACHED_KIND },
    { unowned: (obj) => (memcacheds.get(obj.metadata.namespace, obj.metadata.name) ? [keyOf(obj)] : []) },
  );
  const refreshDelay = o.statusRefreshDelayMs ?? 1000;
  const operandEvents = delayed(owner, (event, obj, old) => (operandEventIsUrgent(event, obj, old) ? 0 : refreshDelay));
  controller.watch(deployments, operandEvents).watch(services, operandEvents);
  // A pod concerns the Memcached objects whose instance label it carries; pods only ever
  // change status (nodes), so their events are coalesced.
  controller.watch(
    pods,
    delayed(
      enqueueMapped((p) => {
        const instance = podInstance(p);
        return instance ? memcacheds.byIndex('instance', objectKey(p.metadata.namespace, instance)).map(keyOf) : [];
      }),
      () => refreshDelay,
    ),
    // Status reads a pod's name, labels and deletion only; its phase and readiness reach
    // status through the Deployment. Other pod updates (most of them) need no reconcile.
    {
      update: (old, cur) => old.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp || !sameLabels(old, cur),
    },
  );
  return { controller, reconciler };
}
