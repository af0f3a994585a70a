// An informer for one resource type: one reflector per watched namespace (or one for the
// whole cluster) filling a shared store, with secondary indexes, add/update/delete handlers,
// sync tracking and an optional resync that re-emits every cached object.
import { nopLogger, type Logger } from '../log';
import { objectKey, resourceName, type KubeObject, type ResourceRef } from '../object';
import { Reflector, type ReflectorOptions } from './reflector';
import { Store, type EventHandlers, type EventSource, type IndexFunc } from './store';

export interface InformerOptions extends ReflectorOptions {
  /** Namespaces to watch, one watch each; empty or undefined = all namespaces (one watch). */
  namespaces?: readonly string[];
  /** Re-emit onUpdate(obj, obj) for every cached object this often; default 0 = never. */
  resyncPeriodMs?: number;
  log?: Logger;
}

export class Informer<T extends KubeObject = KubeObject> implements EventSource<T> {
  readonly resource: ResourceRef;
  private readonly cache: Store<T>;
  private readonly reflectors: Reflector<T>[];
  private readonly resyncPeriodMs: number;
  private syncWaiters: Array<(synced: boolean) => void> = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(options: InformerOptions) {
    this.resource = options.resource;
    this.resyncPeriodMs = options.resyncPeriodMs ?? 0;
    const log = (options.log ?? nopLogger).child({ resource: resourceName(options.resource) }, 'informer');
    this.cache = new Store(log, options.metrics);
    const scopes =
      options.resource.namespaced && options.namespaces?.length ? [...new Set(options.namespaces)] : [undefined];
    this.reflectors = scopes.map((ns) => new Reflector(this.cache, options, ns, log, () => this.reflectorSynced()));
  }

  addEventHandler(handlers: EventHandlers<T>): void {
    this.cache.addEventHandler(handlers);
  }

  /** Adds a secondary index (also over objects already cached). */
  addIndex(name: string, fn: IndexFunc<T>): void {
    this.cache.addIndex(name, fn);
  }

  /** Starts listing and watching (once). */
  start(): void {
    if (this.state !== 'new') throw new Error(`informer already ${this.state}`);
    this.state = 'running';
    for (const reflector of this.reflectors) reflector.start();
    if (this.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => this.hasSynced() && this.cache.resync(), this.resyncPeriodMs);
      this.resyncTimer.unref();
    }
  }

  /** True while the API server answers 404 for this resource (e.g. its CRD was deleted). */
  missing(): boolean {
    return this.reflectors.some((r) => r.missing);
  }

  /** True once every watched namespace has been listed successfully. */
  hasSynced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  /** Resolves true when synced, false if the informer is stopped first. */
  waitForSync(): Promise<boolean> {
    if (this.hasSynced()) return Promise.resolve(true);
    if (this.state === 'stopped') return Promise.resolve(false);
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(objectKey(namespace, name));
  }

  /** Cached objects, optionally only those of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.cache.items.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  byIndex(name: string, value: string): T[] {
    return this.cache.byIndex(name, value);
  }

  /** Stops all watches and timers; resolves when the watch loops have exited. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearInterval(this.resyncTimer);
    await Promise.all(this.reflectors.map((r) => r.stop()));
    for (const resolve of this.syncWaiters.splice(0)) resolve(false);
  }

  private reflectorSynced(): void {
    if (!this.hasSynced()) return;
    for (const resolve of this.syncWaiters.splice(0)) resolve(true);
  }
}
