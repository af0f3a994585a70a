// The object store behind an informer: objects by key, secondary indexes, and dispatch of
// add/update/delete events to handlers. Pure logic (no I/O): the reflector feeds it, and unit
// tests can feed it directly.
import { nopLogger, type Logger } from '../log';
import { keyOf, type KubeObject } from '../object';

/** Event handlers; called synchronously, a throwing (or rejecting) handler is logged and ignored. */
export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** Anything handlers can be added to: an Informer, or a Store on its own. */
export interface EventSource<T> {
  addEventHandler(handlers: EventHandlers<T>): void;
}

/** Maps an object to the index values it is found under. */
export type IndexFunc<T> = (obj: T) => string[];

/** Index by the uid of the controller owner reference (use with byIndex to map owned → owner). */
export const controllerUidIndex: IndexFunc<KubeObject> = (obj) =>
  (obj.metadata.ownerReferences ?? []).filter((ref) => ref.controller).map((ref) => ref.uid);

interface Index<T> {
  fn: IndexFunc<T>;
  values: Map<string, Set<string>>;
}

/** Metric hook of a store: the number of cached objects. */
export interface StoreMetrics {
  objects(n: number): void;
}

/** The object store shared by an informer's reflectors: items, indexes, event dispatch. */
export class Store<T extends KubeObject = KubeObject> implements EventSource<T> {
  readonly items = new Map<string, T>();
  readonly handlers: EventHandlers<T>[] = [];
  private readonly indexes = new Map<string, Index<T>>();

  constructor(
    private readonly log: Logger = nopLogger,
    private readonly metrics?: StoreMetrics,
  ) {}

  addEventHandler(handlers: EventHandlers<T>): void {
    this.handlers.push(handlers);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

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
    const key = keyOf(obj);
    const old = this.items.get(key);
    this.store(key, old, obj);
    if (old) this.emit(obj, (h) => h.onUpdate?.(old, obj));
    else this.emit(obj, (h) => h.onAdd?.(obj));
  }

  remove(obj: T): void {
    const key = keyOf(obj);
    this.store(key, this.items.get(key), undefined);
    this.emit(obj, (h) => h.onDelete?.(obj));
  }

  /**
   * Replaces the objects of one scope (a namespace, or all when undefined) with a fresh list:
   * new → onAdd, changed resourceVersion → onUpdate, missing → onDelete.
   */
  replace(namespace: string | undefined, objects: T[]): void {
    const listed = new Set<string>();
    for (const obj of objects) {
      const key = keyOf(obj);
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
    for (const obj of this.items.values()) this.emit(obj, (h) => h.onUpdate?.(obj, obj));
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

  /** Calls every handler for `obj`; a failing handler is logged with the object it failed on. */
  private emit(obj: T, call: (h: EventHandlers<T>) => void): void {
    const object = { namespace: obj.metadata.namespace, name: obj.metadata.name };
    for (const handler of this.handlers) {
      try {
        const result: unknown = call(handler);
        if (result instanceof Promise) result.catch((err) => this.log.error('event handler failed', err, object));
      } catch (err) {
        this.log.error('event handler failed', err, object);
      }
    }
  }
}
