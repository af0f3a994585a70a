// Pure status computation: from what the caches show (the Memcached object, its Deployment
// and pods) to the status the object should carry. No I/O, so it is unit-tested directly.
import type { Condition, MemcachedStatus } from '../../constructs/memcached-api';
import { selectorString } from '../../constructs/memcached-operand';
import type { KubeObject } from '../runtime/object';

export type { MemcachedStatus };

/** Why the operator could not (fully) reconcile: reported as Degraded. */
export interface Problem {
  readonly reason: string;
  readonly message: string;
  /**
   * The operator retries by itself (a 5xx, a timeout): kstatus readers see `Reconciling`, not
   * `Stalled`, because no one needs to act yet.
   */
  readonly retrying?: boolean;
}

export interface StatusInput {
  readonly cr: KubeObject;
  /** The size the object asks for (spec.size after the CRD's default). */
  readonly size: number;
  readonly deployment?: KubeObject;
  readonly pods: readonly KubeObject[];
  readonly problem?: Problem;
  readonly now: Date;
}

export function computeStatus(input: StatusInput): MemcachedStatus {
  const { cr, size, deployment, pods, problem, now } = input;
  const name = cr.metadata?.name ?? '';
  const ds = deployment?.status ?? {};
  const replicas = problem && !deployment ? 0 : (ds.replicas ?? 0);
  const ready = problem && !deployment ? 0 : (ds.readyReplicas ?? 0);
  const nodes = pods
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => p.metadata?.name ?? '')
    .sort();

  const desired: Omit<Condition, 'lastTransitionTime'>[] = [];
  const generation = cr.metadata?.generation;
  const cond = (type: string, status: Condition['status'], reason: string, message: string) =>
    desired.push({
      type,
      status,
      reason,
      message,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });

  if (problem) {
    // Part of the operand could not be applied (or is somebody else's): whatever the pods
    // do, the object is not what was asked for, and `kubectl get` must not say Available.
    cond('Available', 'False', problem.reason, problem.message);
    cond('Progressing', 'False', problem.reason, problem.message);
    cond('Degraded', 'True', problem.reason, problem.message);
  } else if (!deployment) {
    cond('Available', 'Unknown', 'Reconciling', 'Creating the Deployment');
    cond('Progressing', 'True', 'Reconciling', 'Creating the Deployment');
    cond('Degraded', 'False', 'AsExpected', 'No problems found');
  } else {
    const rollout = rolloutState(deployment, size);
    if (rollout.failed) {
      cond(
        'Available',
        deploymentAvailable(deployment, size) ? 'True' : 'False',
        'ProgressDeadlineExceeded',
        rollout.message,
      );
      cond('Progressing', 'False', 'ProgressDeadlineExceeded', rollout.message);
      cond('Degraded', 'True', 'ProgressDeadlineExceeded', rollout.message);
    } else {
      const available = deploymentAvailable(deployment, size);
      cond(
        'Available',
        available ? 'True' : 'False',
        available ? (size === 0 ? 'ScaledToZero' : 'MinimumReplicasAvailable') : 'MinimumReplicasUnavailable',
        `${ready}/${size} pods ready`,
      );
      cond(
        'Progressing',
        rollout.done ? 'False' : 'True',
        rollout.done ? 'RolloutComplete' : 'RollingOut',
        rollout.message,
      );
      cond('Degraded', 'False', 'AsExpected', 'No problems found');
    }
  }

  // The two conditions kstatus reads (cli-utils: Flux's `wait` and health checks, kpt,
  // config-sync): `Reconciling` while the desired state is being worked towards, `Stalled`
  // while it cannot be reached without somebody acting. Both are present only while True, as
  // kstatus's convention has them (Flux's own objects do the same). Without them kstatus
  // reads a Memcached whose observedGeneration is current as Current, pods ready or not.
  const progressing = desired.find((c) => c.type === 'Progressing')!;
  const degraded = desired.find((c) => c.type === 'Degraded')!;
  if (progressing.status === 'True') cond('Reconciling', 'True', progressing.reason, progressing.message);
  else if (degraded.status === 'True' && problem?.retrying)
    cond('Reconciling', 'True', degraded.reason, `retrying: ${degraded.message}`);
  else if (degraded.status === 'True') cond('Stalled', 'True', degraded.reason, degraded.message);

  const previous = (cr.status?.conditions ?? []) as Condition[];
  const conditions = desired.map((c) => {
    const old = previous.find((p) => p.type === c.type);
    const lastTransitionTime =
      old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z');
    return { ...c, lastTransitionTime };
  });

  return {
    nodes,
    replicas,
    readyReplicas: ready,
    selector: selectorString(name),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
  };
}

/** All desired pods are available (the Deployment controller's own judgement). */
function deploymentAvailable(d: KubeObject | undefined, size: number): boolean {
  if (!d) return false;
  const s = d.status ?? {};
  return (s.availableReplicas ?? 0) >= size && (s.readyReplicas ?? 0) >= size;
}

function rolloutState(d: KubeObject, size: number): { done: boolean; failed: boolean; message: string } {
  const s = d.status ?? {};
  const progressing = (s.conditions ?? []).find((c: Condition) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return { done: false, failed: true, message: progressing.message ?? 'Deployment exceeded its progress deadline' };
  }
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
    return { done: false, failed: false, message: 'Deployment controller has not observed the latest spec yet' };
  }
  const updated = s.updatedReplicas ?? 0;
  const total = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < size) return { done: false, failed: false, message: `${updated}/${size} pods updated` };
  if (total > size) return { done: false, failed: false, message: `${total - size} old pods terminating` };
  if (available < size) return { done: false, failed: false, message: `${available}/${size} pods available` };
  return { done: true, failed: false, message: `Deployment has ${size} up-to-date, available pods` };
}

/** The condition of `type` in a Memcached status, if there is one. */
export function conditionOf(status: MemcachedStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * Status equality that ignores key order (the API server may reorder map keys), with
 * JSON's view of absence: a key whose value is undefined is no key.
 */
export function sameStatus(a: unknown, b: unknown): boolean {
  return sameJson(a ?? {}, b ?? {});
}

function sameJson(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
  if (Array.isArray(x) || Array.isArray(y)) {
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], y[i])) return false;
    return true;
  }
  const xo = x as Record<string, unknown>;
  const yo = y as Record<string, unknown>;
  let keys = 0;
  for (const k in xo) {
    if (xo[k] === undefined) continue;
    keys++;
    if (!sameJson(xo[k], yo[k])) return false;
  }
  for (const k in yo) if (yo[k] !== undefined) keys--;
  return keys === 0;
}
