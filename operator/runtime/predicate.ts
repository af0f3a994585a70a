// Predicates filter the events of a watch before its handler sees them (controller-runtime's
// predicate package). A predicate that does not define a function for an event lets it pass.
import type { KubeObject } from './object';

export interface Predicate<T> {
  create?(obj: T): boolean;
  update?(oldObj: T, newObj: T): boolean;
  delete?(obj: T): boolean;
}

export type EventType = 'create' | 'update' | 'delete';

/** True when every predicate lets the event pass. For 'update', `obj` is the new object. */
export function admits<T>(predicates: readonly Predicate<T>[], event: EventType, obj: T, old?: T): boolean {
  return predicates.every((p) => passes(p, event, obj, old));
}

function passes<T>(p: Predicate<T>, event: EventType, obj: T, old: T | undefined): boolean {
  if (event === 'update') return p.update ? p.update(old as T, obj) : true;
  const f = p[event];
  return f ? f.call(p, obj) : true;
}

/** Passes an event when at least one of `predicates` passes it (checked in order, lazily). */
export function or<T>(...predicates: Predicate<T>[]): Predicate<T> {
  return {
    create: (obj) => predicates.some((p) => passes(p, 'create', obj, undefined)),
    update: (old, cur) => predicates.some((p) => passes(p, 'update', cur, old)),
    delete: (obj) => predicates.some((p) => passes(p, 'delete', obj, undefined)),
  };
}

/**
 * Updates where what a reconciler acts on changed: the spec (metadata.generation), the object
 * itself (a new uid: deleted and created again under the same name) or its deletion began.
 * Status-only and metadata-only updates do not pass. Create and delete always pass.
 */
export const specChanged: Predicate<KubeObject> = {
  update: (old, cur) =>
    old.metadata.generation !== cur.metadata.generation ||
    old.metadata.uid !== cur.metadata.uid ||
    Boolean(old.metadata.deletionTimestamp) !== Boolean(cur.metadata.deletionTimestamp),
};
