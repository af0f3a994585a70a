// Wires the Memcached reconciler to the runtime: four informers feed one work queue keyed by
// namespace/name; workers reconcile from the caches. Informers start at once (so a standby
// replica is ready and warm); workers start only when this process leads.
import type { KubeConfig } from '@kubernetes/client-node';
import { MEMCACHED_KIND, MEMCACHED_PLURAL, MEMCACHED_VERSION, FIELD_MANAGER, memcachedGroup } from '../constructs/memcached-api';
import { memcachedSelector } from '../constructs/memcached-operand';
import { Caches, Reconciler } from './reconcile';
import { Informer, KubeObject as InformerObject, objectKey, ResourceRef } from './runtime/informer';
import type { Logger } from './runtime/log';
import type { RuntimeMetrics } from './runtime/metrics';
import { WorkQueue } from './runtime/workqueue';
import type { KubeObject } from './status';
import { KubeWriter } from './writer';

export const CONTROLLER_NAME = 'memcached';
const INSTANCE_LABEL = 'app.kubernetes.io/instance';
const OPERAND_PODS = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  /** Namespaces to watch; empty: all. */
  readonly namespaces: readonly string[];
  readonly groupDomain: string;
  readonly image: string;
  readonly workers: number;
  readonly identity: string;
  readonly log: Logger;
  readonly metrics?: RuntimeMetrics;
  readonly resyncPeriodMs?: number;
  readonly watchdogMs?: number;
}

export class MemcachedController {
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  private readonly informers: Informer[];
  private readonly memcacheds: Informer;
  private readonly deployments: Informer;
  private readonly services: Informer;
  private readonly pods: Informer;
  private workersDone: Promise<void> | undefined;

  constructor(private readonly o: ControllerOptions) {
    const group = memcachedGroup(o.groupDomain);
    const informer = (resource: ResourceRef, name: string, labelSelector?: string) =>
      new Informer({
        kubeConfig: o.kubeConfig,
        resource,
        namespaces: o.namespaces,
        labelSelector,
        resyncPeriodMs: o.resyncPeriodMs,
        watchdogMs: o.watchdogMs,
        log: o.log.child({ resource: name }, 'informer'),
        metrics: o.metrics?.informer(name),
      });
    this.memcacheds = informer({ group, version: MEMCACHED_VERSION, plural: MEMCACHED_PLURAL, namespaced: true }, `${MEMCACHED_PLURAL}.${group}`);
    this.deployments = informer({ group: 'apps', version: 'v1', plural: 'deployments', namespaced: true }, 'deployments.apps');
    this.services = informer({ group: '', version: 'v1', plural: 'services', namespaced: true }, 'services');
    this.pods = informer({ group: '', version: 'v1', plural: 'pods', namespaced: true }, 'pods', OPERAND_PODS);
    this.informers = [this.memcacheds, this.deployments, this.services, this.pods];

    // Pods are found by their instance label; Memcached objects by the instance value they
    // give their pods (the name, or a hashed form for names over 63 characters).
    this.pods.addIndex('instance', (p) => (p.metadata.labels?.[INSTANCE_LABEL] ? [objectKey(p.metadata.namespace, p.metadata.labels[INSTANCE_LABEL])] : []));
    this.memcacheds.addIndex('instance', (m) => [objectKey(m.metadata.namespace, memcachedSelector(m.metadata.name)[INSTANCE_LABEL])]);

    this.queue = new WorkQueue({ name: CONTROLLER_NAME, metrics: o.metrics?.workqueue(CONTROLLER_NAME), log: o.log });
    const caches: Caches = {
      memcached: (ns, n) => this.memcacheds.get(ns, n) as KubeObject | undefined,
      deployment: (ns, n) => this.deployments.get(ns, n) as KubeObject | undefined,
      service: (ns, n) => this.services.get(ns, n) as KubeObject | undefined,
      pods: (ns, selector) =>
        this.pods
          .byIndex('instance', objectKey(ns, selector[INSTANCE_LABEL]))
          .filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v)) as KubeObject[],
    };
    this.reconciler = new Reconciler({
      caches,
      writer: new KubeWriter(o.kubeConfig, o.identity),
      image: o.image,
      log: o.log.child({ controller: CONTROLLER_NAME }),
    });

    const key = (obj: InformerObject) => objectKey(obj.metadata.namespace, obj.metadata.name);
    const enqueue = (obj: InformerObject) => this.queue.add(key(obj));
    // A new, changed or deleted Memcached goes ahead of status refreshes. The echo of the
    // operator's own status write (nothing else changed) needs no reconcile at all.
    const urgent = (obj: InformerObject) => this.queue.add(key(obj), 'high');
    this.memcacheds.addEventHandler({
      onAdd: urgent,
      onUpdate: (old, cur) => {
        if (specChanged(old, cur)) urgent(cur);
        else if (!this.reconciler.isOwnStatusWrite(key(cur), cur as KubeObject)) enqueue(cur);
      },
      onDelete: urgent,
    });
    const owned = (obj: InformerObject) => this.enqueueOwner(obj, group);
    for (const inf of [this.deployments, this.services]) {
      inf.addEventHandler({ onAdd: owned, onUpdate: (_o, n) => owned(n), onDelete: owned });
    }
    const pod = (p: InformerObject) => {
      const instance = p.metadata.labels?.[INSTANCE_LABEL];
      if (!instance) return;
      for (const m of this.memcacheds.byIndex('instance', objectKey(p.metadata.namespace, instance))) enqueue(m);
    };
    this.pods.addEventHandler({ onAdd: pod, onUpdate: (_o, n) => pod(n), onDelete: pod });
  }

  /**
   * A Deployment or Service concerns the Memcached that controls it, or, when it has no such
   * owner, the Memcached of the same name (whose conflict it causes or resolves).
   */
  private enqueueOwner(obj: InformerObject, group: string): void {
    const ns = obj.metadata.namespace;
    const owner = (obj.metadata.ownerReferences ?? []).find((r) => r.controller);
    if (owner) {
      if (owner.kind === MEMCACHED_KIND && owner.apiVersion.startsWith(`${group}/`)) this.queue.add(objectKey(ns, owner.name));
      else if (this.memcacheds.get(ns, obj.metadata.name)) this.queue.add(objectKey(ns, obj.metadata.name));
      return;
    }
    if (this.memcacheds.get(ns, obj.metadata.name)) this.queue.add(objectKey(ns, obj.metadata.name));
  }

  /** Starts the informers (list + watch); they keep themselves running until stop(). */
  startInformers(): void {
    for (const inf of this.informers) inf.start();
  }

  /** True once every informer has completed its first list. */
  synced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  async waitForSync(): Promise<boolean> {
    const results = await Promise.all(this.informers.map((i) => i.waitForSync()));
    return results.every(Boolean);
  }

  /** Starts the workers (call when leading). Resolves when they have all stopped. */
  runWorkers(): Promise<void> {
    this.workersDone ??= this.queue.runWorkers(
      this.o.workers,
      async (key) => {
        const r = await this.reconciler.reconcile(key);
        return r.requeueAfterMs ? { requeueAfter: r.requeueAfterMs } : {};
      },
      { metrics: this.o.metrics?.controller(CONTROLLER_NAME), log: this.o.log.child({ controller: CONTROLLER_NAME }) },
    );
    return this.workersDone;
  }

  /** Stops taking work, lets in-flight reconciles finish (up to `graceMs`), stops the informers. */
  async stop(graceMs: number): Promise<boolean> {
    this.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      (this.workersDone ?? this.queue.drain()).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    await Promise.all(this.informers.map((i) => i.stop()));
    return finished;
  }
}

/** What the reconciler acts on changed: the spec (generation) or the object is being deleted. */
function specChanged(old: InformerObject, cur: InformerObject): boolean {
  const o = old.metadata as { generation?: number; uid?: string; deletionTimestamp?: unknown };
  const c = cur.metadata as { generation?: number; uid?: string; deletionTimestamp?: unknown };
  return o.generation !== c.generation || o.uid !== c.uid || Boolean(o.deletionTimestamp) !== Boolean(c.deletionTimestamp);
}
