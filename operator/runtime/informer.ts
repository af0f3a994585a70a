// An informer for one resource type: list (paged) + watch with bookmarks into a cache keyed by
// namespace/name, with secondary indexes and add/update/delete handlers. Unlike client-node's
// makeInformer it never gives up: 410 Gone → relist; a watch that ends is resumed from the last
// resourceVersion at once if it was healthy (delivered events or stayed open ≥ 1 s), otherwise
// (errors, failed lists) after exponential backoff (1 s doubling, capped at 30 s). A watchdog
// restarts watches that deliver nothing, not even a bookmark. Note that client-node 2.0.1's
// Watch itself aborts a watch after 30 s without data (reason "timeout", resumed at once), so
// on quiet resources watches are renewed about every 30 s. An optional resync re-emits every
// cached object.
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { httpStatus, kubeRequest } from './kube-request';
import { nopLogger, type Logger } from './log';

/** Identifies an API resource: group "" is the core group (/api/v1). */
export interface ResourceRef {
  group: string;
  version: string;
  /** Lower-case plural, e.g. "deployments", "memcacheds". */
  plural: string;
  namespaced: boolean;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

/** A plain API object as JSON (timestamps are strings); spec/status are up to the user type. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** Event handlers; called synchronously, a throwing (or rejecting) handler is logged and ignored. */
export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** Maps an object to the index values it is found under. */
export type IndexFunc<T> = (obj: T) => string[];

export type WatchRestartReason = 'closed' | 'timeout' | 'watchdog' | 'gone' | 'error';

/** Metric hooks of an informer (see metrics.ts). */
export interface InformerMetrics {
  listed(): void;
  watchRestarted(reason: WatchRestartReason): void;
  event(type: string): void;
  objects(n: number): void;
}

export interface InformerOptions {
  kubeConfig: KubeConfig;
  resource: ResourceRef;
  /** Namespaces to watch, one watch each; empty or undefined = all namespaces (one watch). */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size (limit); default 500. */
  pageSize?: number;
  /** Re-emit onUpdate(obj, obj) for every cached object this often; default 0 = never. */
  resyncPeriodMs?: number;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long; default 5 min. */
  watchdogMs?: number;
  /** Cap of the restart backoff (1 s doubling); default 30 s. */
  maxBackoffMs?: number;
  log?: Logger;
  metrics?: InformerMetrics;
}

/** The API path of a resource collection, e.g. /apis/apps/v1/namespaces/ns/deployments. */
export function resourcePath(resource: ResourceRef, namespace?: string): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  return resource.namespaced && namespace
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`
    : `${base}/${resource.plural}`;
}

/** Cache key: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Index by the uid of the controller owner reference (use with byIndex to map owned → owner). */
export const controllerUidIndex: IndexFunc<KubeObject> = (obj) =>
  (obj.metadata.ownerReferences ?? []).filter((ref) => ref.controller).map((ref) => ref.uid);

interface Index<T> {
  fn: IndexFunc<T>;
  values: Map<string, Set<string>>;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceRef;
  private readonly cache: Cache<T>;
  private readonly reflectors: Reflector<T>[];
  private readonly resyncPeriodMs: number;
  private syncWaiters: Array<(synced: boolean) => void> = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(options: InformerOptions) {
    this.resource = options.resource;
    this.resyncPeriodMs = options.resyncPeriodMs ?? 0;
    const { group, plural, namespaced } = options.resource;
    const log = (options.log ?? nopLogger).child({ resource: group ? `${plural}.${group}` : plural }, 'informer');
    this.cache = new Cache(log, options.metrics);
    const scopes = namespaced && options.namespaces?.length ? [...new Set(options.namespaces)] : [undefined];
    this.reflectors = scopes.map((ns) => new Reflector(this.cache, options, ns, log, () => this.reflectorSynced()));
  }

  addEventHandler(handlers: EventHandlers<T>): void {
    this.cache.handlers.push(handlers);
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
    return this.cache.items.get(objectKey(namespace, name));
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

/** The object store shared by an informer's reflectors: items, indexes, event dispatch. */
class Cache<T extends KubeObject> {
  readonly items = new Map<string, T>();
  readonly handlers: EventHandlers<T>[] = [];
  private readonly indexes = new Map<string, Index<T>>();

  constructor(
    private readonly log: Logger,
    private readonly metrics: InformerMetrics | undefined,
  ) {}

  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) throw new Error(`index ${name} already exists`);
    const index: Index<T> = { fn, values: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.items) this.indexAdd(index, key, obj);
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index named ${name}`);
    return [...(index.values.get(value) ?? [])].flatMap((key) => this.items.get(key) ?? []);
  }

  upsert(obj: T): void {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const old = this.items.get(key);
    this.store(key, old, obj);
    if (old) this.emit((h) => h.onUpdate?.(old, obj));
    else this.emit((h) => h.onAdd?.(obj));
  }

  remove(obj: T): void {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    this.store(key, this.items.get(key), undefined);
    this.emit((h) => h.onDelete?.(obj));
  }

  /**
   * Replaces the objects of one scope (a namespace, or all when undefined) with a fresh list:
   * new → onAdd, changed resourceVersion → onUpdate, missing → onDelete.
   */
  replace(namespace: string | undefined, objects: T[]): void {
    const listed = new Set<string>();
    for (const obj of objects) {
      const key = objectKey(obj.metadata.namespace, obj.metadata.name);
      listed.add(key);
      if (this.items.get(key)?.metadata.resourceVersion !== obj.metadata.resourceVersion) this.upsert(obj);
    }
    for (const [key, obj] of this.items) {
      if (listed.has(key) || (namespace !== undefined && obj.metadata.namespace !== namespace)) continue;
      this.remove(obj);
    }
  }

  /** Re-emits onUpdate(obj, obj) for every object. */
  resync(): void {
    for (const obj of this.items.values()) this.emit((h) => h.onUpdate?.(obj, obj));
  }

  private store(key: string, old: T | undefined, obj: T | undefined): void {
    for (const index of this.indexes.values()) {
      if (old) this.indexRemove(index, key, old);
      if (obj) this.indexAdd(index, key, obj);
    }
    if (obj) this.items.set(key, obj);
    else this.items.delete(key);
    this.metrics?.objects(this.items.size);
  }

  private indexAdd(index: Index<T>, key: string, obj: T): void {
    for (const value of this.indexValues(index, obj)) {
      let keys = index.values.get(value);
      if (!keys) index.values.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private indexRemove(index: Index<T>, key: string, obj: T): void {
    for (const value of this.indexValues(index, obj)) {
      const keys = index.values.get(value);
      keys?.delete(key);
      if (keys?.size === 0) index.values.delete(value);
    }
  }

  private indexValues(index: Index<T>, obj: T): string[] {
    try {
      return index.fn(obj);
    } catch (err) {
      this.log.error('index function failed', err, { name: obj.metadata.name, namespace: obj.metadata.namespace });
      return [];
    }
  }

  private emit(call: (h: EventHandlers<T>) => void): void {
    for (const handler of this.handlers) {
      try {
        const result: unknown = call(handler);
        if (result instanceof Promise) result.catch((err) => this.log.error('event handler failed', err));
      } catch (err) {
        this.log.error('event handler failed', err);
      }
    }
  }
}

/** What a watch attempt ended with. */
interface WatchEnd {
  reason: WatchRestartReason;
  /** Delivered events or stayed open ≥ 1 s: the next attempt starts without backoff. */
  healthy: boolean;
  error?: unknown;
}

interface ListResponse<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

const BACKOFF_BASE_MS = 1000;
const HEALTHY_WATCH_MS = 1000;

/** Lists and watches one scope (a namespace, or the whole cluster) into the informer's store. */
class Reflector<T extends KubeObject> {
  synced = false;
  private resourceVersion: string | undefined;
  private readonly stopping = new AbortController();
  /** Ends the current watch attempt early (stop, watchdog). */
  private endWatch: ((reason: WatchRestartReason) => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly path: string;
  private readonly log: Logger;

  constructor(
    private readonly cache: Cache<T>,
    private readonly options: InformerOptions,
    private readonly namespace: string | undefined,
    log: Logger,
    private readonly onSynced: () => void,
  ) {
    this.path = resourcePath(options.resource, namespace);
    this.log = namespace ? log.child({ namespace }) : log;
  }

  start(): void {
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.endWatch?.('closed');
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        if (this.stopped) break;
        const end = await this.watch();
        if (this.stopped) break;
        this.options.metrics?.watchRestarted(end.reason);
        if (end.reason === 'gone') this.resourceVersion = undefined;
        failures = end.healthy ? 0 : failures + 1;
        if (end.reason === 'error') this.log.error('watch failed', end.error, { failures });
        else this.log.debug('watch ended', { reason: end.reason, resourceVersion: this.resourceVersion });
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.options.metrics?.watchRestarted('error');
        this.log.error('list failed', err, { failures });
      }
      if (failures > 0) await this.backoff(failures);
    }
  }

  private async backoff(failures: number): Promise<void> {
    const max = this.options.maxBackoffMs ?? 30_000;
    const delay = Math.min(max, BACKOFF_BASE_MS * 2 ** (failures - 1) * (0.8 + 0.4 * Math.random()));
    await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => {});
  }

  private async list(): Promise<void> {
    const objects: T[] = [];
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      const page = await kubeRequest<ListResponse<T>>(this.options.kubeConfig, {
        method: 'GET',
        path: this.path,
        query: {
          limit: this.options.pageSize ?? 500,
          continue: continueToken,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
        },
        signal: this.stopping.signal,
        timeoutMs: 60_000,
      });
      // List items of built-in types carry no apiVersion/kind; fill them in from the list.
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) objects.push({ apiVersion: page.apiVersion, kind, ...item });
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    if (this.stopped) return;
    this.options.metrics?.listed();
    this.cache.replace(this.namespace, objects);
    this.resourceVersion = resourceVersion;
    this.log.debug('listed', { count: objects.length, resourceVersion });
    if (!this.synced) {
      this.synced = true;
      this.onSynced();
    }
  }

  /** One watch attempt from this.resourceVersion; resolves when it ends, never rejects. */
  private watch(): Promise<WatchEnd> {
    return new Promise((resolve) => {
      const started = performance.now();
      const watchdogMs = this.options.watchdogMs ?? 5 * 60_000;
      let events = 0;
      let endReason: WatchRestartReason | undefined;
      let endError: unknown;
      let controller: AbortController | undefined;
      let finished = false;
      let watchdog: NodeJS.Timeout | undefined;

      const armWatchdog = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          this.log.info('watch silent, restarting', { silentMs: watchdogMs });
          end('watchdog');
        }, watchdogMs);
        watchdog.unref();
      };
      // Ends the attempt on our side; client-node then calls done() with an abort error.
      const end = (reason: WatchRestartReason, error?: unknown) => {
        endReason ??= reason;
        endError ??= error;
        controller?.abort();
      };
      const finish = (err: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(watchdog);
        this.endWatch = undefined;
        let reason = endReason;
        let error = endError;
        if (!reason) {
          if (!err) reason = 'closed';
          else if ((err as Error).name === 'TimeoutError') reason = 'timeout';
          else if (httpStatus(err) === 410) reason = 'gone';
          else [reason, error] = ['error', err];
        }
        resolve({ reason, error, healthy: events > 0 || performance.now() - started >= HEALTHY_WATCH_MS });
      };

      this.endWatch = end;
      armWatchdog();
      new Watch(this.options.kubeConfig)
        .watch(
          this.path,
          {
            allowWatchBookmarks: true,
            resourceVersion: this.resourceVersion,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            // Like client-go: let the server end watches after 5–10 min so load spreads out.
            timeoutSeconds: Math.floor(300 + Math.random() * 300),
          },
          (type: string, obj: T & { code?: number; reason?: string; message?: string }) => {
            if (finished || endReason) return;
            this.options.metrics?.event(type);
            if (type === 'ERROR') {
              if (obj.code === 410 || obj.reason === 'Expired' || obj.reason === 'Gone') end('gone');
              else end('error', new Error(`watch error event: ${obj.message ?? JSON.stringify(obj)}`));
              return;
            }
            events++;
            armWatchdog();
            if (type === 'ADDED' || type === 'MODIFIED') this.cache.upsert(obj);
            else if (type === 'DELETED') this.cache.remove(obj);
            this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
          },
          finish,
        )
        .then(
          (c) => {
            controller = c;
            if (endReason) c.abort();
          },
          finish,
        );
    });
  }
}
