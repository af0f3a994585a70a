// Drift detection without a GET: does the cached object already hold every field the operator
// would apply? The API server adds defaults (and other managers may add fields), so "holds"
// means: every field in the desired object is present with an equal value; extra fields in the
// live object are fine. An empty result means applying would change nothing.

import type { JsonObject } from '../runtime/object';

/**
 * Paths (like `spec.replicas`) whose desired value the live object does not hold. Runs for
 * every operand object on every reconcile, nearly always finding nothing: the path of a field
 * is only spelled out when the field differs.
 */
export function driftedFields(desired: unknown, actual: unknown): string[] {
  const out: string[] = [];
  walk(desired, actual, [], out);
  return out;
}

function walk(desired: unknown, actual: unknown, at: (string | number)[], out: string[]): void {
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) {
      out.push(pathOf(at));
      return;
    }
    for (let i = 0; i < desired.length; i++) {
      at.push(i);
      walk(desired[i], actual[i], at, out);
      at.pop();
    }
    return;
  }
  if (desired !== null && typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      out.push(pathOf(at));
      return;
    }
    const a = actual as Record<string, unknown>;
    for (const [k, v] of Object.entries(desired as Record<string, unknown>)) {
      if (v === undefined) continue;
      at.push(k);
      walk(v, a[k], at, out);
      at.pop();
    }
    return;
  }
  if (desired !== actual) out.push(pathOf(at));
}

/** `spec.template.spec.containers[0].image` from its keys and indexes; `(root)` for none. */
function pathOf(at: (string | number)[]): string {
  if (!at.length) return '(root)';
  let path = '';
  for (const part of at) path += typeof part === 'number' ? `[${part}]` : path ? `.${part}` : part;
  return path;
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
