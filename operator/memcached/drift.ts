// Drift detection without a GET: does the cached object already hold every field the operator
// would apply? The API server adds defaults (and other managers may add fields), so "holds"
// means: every field in the desired object is present with an equal value; extra fields in the
// live object are fine. An empty result means applying would change nothing.

import type { JsonObject } from '../runtime/object';

/** Paths (like `spec.replicas`) whose desired value the live object does not hold. */
export function driftedFields(desired: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return [path || '(root)'];
    return desired.flatMap((d, i) => driftedFields(d, actual[i], `${path}[${i}]`));
  }
  if (desired !== null && typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [path || '(root)'];
    const a = actual as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).flatMap(([k, v]) =>
      v === undefined ? [] : driftedFields(v, a[k], path ? `${path}.${k}` : k),
    );
  }
  return desired === actual ? [] : [path || '(root)'];
}

/**
 * Compares only what a reconcile manages: labels, the operator's owner reference (other owner
 * references may sit beside it) and the spec.
 */
export function operandDrift(desired: JsonObject, actual: JsonObject): string[] {
  const drift = driftedFields(
    { metadata: { labels: desired.metadata?.labels }, spec: desired.spec },
    { metadata: actual.metadata, spec: actual.spec },
  );
  for (const ref of desired.metadata?.ownerReferences ?? []) {
    const live = (actual.metadata?.ownerReferences ?? []).find((r: { uid: string }) => r.uid === ref.uid);
    if (!live || driftedFields(ref, live).length > 0) drift.push('metadata.ownerReferences');
  }
  return drift;
}
