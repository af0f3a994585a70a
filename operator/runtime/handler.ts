// Event handlers turn the events of a watched type into work-queue keys of the controller's
// primary type (controller-runtime's handler package): the object itself, its controlling
// owner, or whatever a map function names.
import { controllerOf, keyOf, objectKey, type KubeObject } from './object';
import type { Priority } from './workqueue';

/** The part of a work queue a handler uses. */
export interface Queue {
  add(key: string, priority?: Priority): void;
  /** Adds `key` after `delayMs`; pending delayed adds of a key keep the earliest time. */
  addAfter(key: string, delayMs: number): void;
}

export type EventKind = 'create' | 'update' | 'delete';

/**
 * Wraps `handler` so that the keys it queues are added after `delay(event, obj, old)` ms
 * (0 = at once, as before). Events of one object within the delay collapse into one reconcile,
 * since the queue keeps only the earliest pending time per key: what controller-runtime users
 * get from a rate limiter or `RequeueAfter`, for events that only refresh status.
 */
export function delayed<T>(
  handler: EventHandler<T>,
  delay: (event: EventKind, obj: T, oldObj?: T) => number,
): EventHandler<T> {
  const via = (q: Queue, ms: number): Queue =>
    ms > 0 ? { add: (key) => q.addAfter(key, ms), addAfter: (key, d) => q.addAfter(key, d) } : q;
  return {
    create: handler.create && ((obj, q) => handler.create!(obj, via(q, delay('create', obj)))),
    update: handler.update && ((old, cur, q) => handler.update!(old, cur, via(q, delay('update', cur, old)))),
    delete: handler.delete && ((obj, q) => handler.delete!(obj, via(q, delay('delete', obj)))),
  };
}

export interface EventHandler<T> {
  create?(obj: T, queue: Queue): void;
  update?(oldObj: T, newObj: T, queue: Queue): void;
  delete?(obj: T, queue: Queue): void;
}

/** A handler that queues the keys `map` returns for the object (the new one on updates). */
export function enqueueMapped<T>(map: (obj: T) => Iterable<string>, priority: Priority = 'normal'): EventHandler<T> {
  const add = (obj: T, q: Queue) => {
    for (const key of map(obj)) q.add(key, priority);
  };
  return { create: add, update: (_old, cur, q) => add(cur, q), delete: add };
}

export interface ObjectPriorities<T> {
  create?: Priority;
  update?: Priority | ((oldObj: T, newObj: T) => Priority);
  delete?: Priority;
}

/**
 * Queues the object's own key: the handler of a controller's primary type. Priorities per
 * event (default 'normal'); the update priority may depend on what changed.
 */
export function enqueueForObject<T extends KubeObject>(priorities: ObjectPriorities<T> = {}): EventHandler<T> {
  return {
    create: (obj, q) => q.add(keyOf(obj), priorities.create ?? 'normal'),
    update: (old, cur, q) => {
      const p = priorities.update;
      q.add(keyOf(cur), typeof p === 'function' ? p(old, cur) : (p ?? 'normal'));
    },
    delete: (obj, q) => q.add(keyOf(obj), priorities.delete ?? 'normal'),
  };
}

export interface OwnerType {
  /** API group of the owner type ("" for the core group). */
  group: string;
  kind: string;
}

/** True when `apiVersion` ("group/version", or "version" for the core group) is of `group`. */
function inGroup(apiVersion: string, group: string): boolean {
  return group ? apiVersion.startsWith(`${group}/`) : !apiVersion.includes('/');
}

/**
 * Maps an owned object to its owner: the key of the controller owner reference when that owner
 * is of `owner`'s group and kind (same namespace). For an object without such an owner,
 * `unowned` (default: nothing) names the keys it concerns instead, e.g. the owner it would
 * have, so a name conflict is noticed and its resolution too.
 */
export function enqueueForOwner<T extends KubeObject>(
  owner: OwnerType,
  options: { unowned?: (obj: T) => Iterable<string> } = {},
): EventHandler<T> {
  return enqueueMapped<T>((obj) => {
    const ref = controllerOf(obj);
    if (ref && ref.kind === owner.kind && inGroup(ref.apiVersion, owner.group))
      return [objectKey(obj.metadata.namespace, ref.name)];
    return options.unowned?.(obj) ?? [];
  });
}
