// One reconcile of one Memcached object: read the caches, render the operand with the shared
// construct, write only what differs, and report status only when it changes.
import { FIELD_MANAGER, PORT_DEFAULT, SIZE_DEFAULT } from '../../constructs/memcached-api';
import { memcachedSelector, type RenderedOperand } from '../../constructs/memcached-operand';
import { errorMessage, httpStatus, isTerminalApiError, type ReconcileResult } from '../runtime/errors';
import type { Logger } from '../runtime/log';
import { isControlledBy, splitKey, type JsonObject, type KubeObject } from '../runtime/object';
import { operandDrift } from './drift';
import { OperandTemplates } from './operand-templates';
import { computeStatus, conditionOf, MemcachedStatus, Problem, sameStatus } from './status';

/** Read access to the informer caches (the reconciler never GETs what it watches). */
export interface Caches {
  memcached(namespace: string, name: string): KubeObject | undefined;
  deployment(namespace: string, name: string): KubeObject | undefined;
  service(namespace: string, name: string): KubeObject | undefined;
  /** Pods whose labels match `selector` in `namespace`. */
  pods(namespace: string, selector: Record<string, string>): KubeObject[];
}

/** The writes a reconcile may make. Errors carry the HTTP status in `code` (client-node). */
export interface Writer {
  create(obj: JsonObject): Promise<void>;
  /** Server-side apply; resolves with the object the server returned (when it returns one). */
  apply(obj: JsonObject): Promise<KubeObject | void>;
  /** JSON merge patch of the object `obj` names; resolves like apply. */
  patch(obj: JsonObject, patch: object): Promise<KubeObject | void>;
  patchStatus(cr: KubeObject, status: object): Promise<void>;
  event(cr: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export interface ReconcilerOptions {
  readonly caches: Caches;
  readonly writer: Writer;
  /** Pinned memcached image (MEMCACHED_IMAGE). */
  readonly image: string;
  readonly log?: Logger;
  readonly now?: () => Date;
  /**
   * How long a create this process made (or found already done: 409) is trusted to be on its
   * way to the cache; meanwhile the object is not created again. Default 5 s.
   */
  readonly createExpectationMs?: number;
  /**
   * Progress (pod names, counts, messages while no condition changes its status) is written
   * at most once per this interval per object, and the interval doubles with each progress
   * write of the same rollout (capped at 8×), so a slow rollout costs a few writes, not one
   * per interval; a condition changing status, a new observedGeneration or a problem is
   * written at once and starts over. Default 60 s (progress at 60, 180, 420 s … into a slow
   * rollout; a rollout that ends sooner costs no progress write); 0 writes every change.
   * The same interval bounds how long the first report of a new generation waits for its
   * rollout (see settlingGeneration).
   */
  readonly progressIntervalMs?: number;
}

/** What ensuring one operand object came to. */
type Outcome = 'created' | 'pending' | 'conflict' | 'unchanged' | 'applied' | 'applied-unchanged';

export interface MemcachedResult extends ReconcileResult {
  /** Number of API writes this reconcile made (for tests and benchmarks). */
  writes: number;
}

export class Reconciler {
  /**
   * The last status written per key, with the resourceVersion of the object it was computed
   * from. Until the cache shows the write, an identical status is not written again.
   */
  private readonly written = new Map<
    string,
    { resourceVersion?: string; status: MemcachedStatus; at: number; progressWrites: number }
  >();

  /**
   * The last rendered operand per key and the inputs it came from. Most reconciles are status
   * refreshes (a pod became ready) with unchanged inputs; synthesizing the construct tree again
   * for them was a tenth of the operator's CPU time in the benchmark. The objects are frozen:
   * nothing downstream may change a cached rendering.
   */
  private readonly rendered = new Map<string, { inputs: string; operand: RenderedOperand }>();

  /** Renderings per shape (size, port, image), filled in per object: see operand-templates.ts. */
  private readonly templates: OperandTemplates;

  /**
   * Creates this process made (or that returned 409) whose objects the cache has not shown
   * yet, per key and kind, with the time they were made. Like client-go's ReplicaSet
   * "expectations": a reconcile that runs before the informer delivered the operator's own
   * create must neither create again nor mistake the 409 for somebody else's object.
   */
  private readonly expected = new Map<string, Map<string, number>>();

  /**
   * Per key, the generation whose report is being held until its rollout settles, and since
   * when (see settlingGeneration).
   */
  private readonly settlingSince = new Map<string, { generation: number; since: number }>();

  constructor(private readonly o: ReconcilerOptions) {
    this.templates = new OperandTemplates(o.image);
  }

  /**
   * True when `cr` is the echo of this operator's last status write for `key`: the status on
   * the object is exactly what was written and its generation is the one that status reports.
   * Such an update needs no reconcile (anything else that changed has its own event).
   */
  isOwnStatusWrite(key: string, cr: KubeObject): boolean {
    const last = this.written.get(key);
    if (!last || cr.metadata?.deletionTimestamp) return false;
    return last.status.observedGeneration === cr.metadata?.generation && sameStatus(cr.status, last.status);
  }

  private render(
    key: string,
    owner: { apiVersion: string; name: string; namespace: string; uid: string },
    size: number,
    containerPort: number,
  ) {
    const inputs = JSON.stringify([owner.apiVersion, owner.uid, size, containerPort, this.o.image]);
    const cached = this.rendered.get(key);
    if (cached?.inputs === inputs) return cached.operand;
    const operand = deepFreeze(this.templates.render(owner, size, containerPort));
    this.rendered.set(key, { inputs, operand });
    return operand;
  }

  async reconcile(key: string): Promise<MemcachedResult> {
    const [namespace, name] = splitKey(key);
    const { caches, writer } = this.o;
    const cr = caches.memcached(namespace, name);
    // Gone or going: the Deployment and Service carry owner references, so the garbage
    // collector removes them. Nothing outside the cluster needs cleaning, hence no finalizer.
    if (!cr || cr.metadata?.deletionTimestamp) {
      this.written.delete(key);
      this.rendered.delete(key);
      this.expected.delete(key);
      this.settlingSince.delete(key);
      return { writes: 0 };
    }

    let writes = 0;
    const size = cr.spec?.size ?? SIZE_DEFAULT;
    const containerPort = cr.spec?.containerPort ?? PORT_DEFAULT;
    const rendered = this.render(
      key,
      { apiVersion: cr.apiVersion!, name, namespace, uid: cr.metadata!.uid! },
      size,
      containerPort,
    );

    const objects = [
      ['Deployment', rendered.deployment, caches.deployment(namespace, name)],
      ['Service', rendered.service, caches.service(namespace, name)],
    ] as const;
    // A name taken by somebody else's object: touch neither object, report it.
    const foreign = objects.find(([, , live]) => live && !isControlledBy(live, cr));
    // Otherwise the Deployment and the Service are independent: ensure both at once.
    const outcomes = foreign
      ? [{ kind: foreign[0], outcome: 'conflict' as const, error: undefined as unknown }]
      : await Promise.all(
          objects.map(([kind, desired, live]) =>
            this.ensure(key, cr, kind, desired, live).then(
              (outcome) => ({ kind, outcome, error: undefined as unknown }),
              (error: unknown) => ({ kind, outcome: 'failed' as const, error }),
            ),
          ),
        );
    let problem: Problem | undefined;
    let transientError: unknown;
    let permanentError: { kind: string; error: unknown } | undefined;
    // One event for everything a reconcile created (usually both objects on the first pass).
    const created = outcomes.filter((o) => o.outcome === 'created').map((o) => o.kind);
    // Logged, not recorded as an Event: the objects themselves (owner reference, their own
    // events) and the status show it, and an Event would cost one more request per object.
    if (created.length)
      this.o.log?.info('created operand', { objects: created.map((kind) => `${kind} ${namespace}/${name}`) });
    for (const { kind, outcome, error } of outcomes) {
      if (outcome === 'created' || outcome === 'applied' || outcome === 'applied-unchanged') writes++;
      if (problem) continue; // the first problem (Deployment before Service) is reported
      // Only an object seen in the cache without this Memcached's controller reference is a
      // conflict; a 409 on create is not (see ensure), it ends as 'pending'.
      if (outcome === 'conflict') {
        problem = {
          reason: 'ResourceConflict',
          message: `${kind} ${namespace}/${name} exists and is not owned by this Memcached; it is left untouched`,
        };
      } else if (outcome === 'failed') {
        // Errors retrying cannot fix are reported on the object only; others also go back to
        // the queue (thrown below) to be retried with backoff.
        const retrying = !isTerminalApiError(error);
        problem = { reason: 'ApplyFailed', message: `${kind} ${namespace}/${name}: ${errorMessage(error)}`, retrying };
        if (retrying) transientError = error;
        else permanentError = { kind, error };
      }
    }

    // Objects were just created or changed and nothing failed: their watch events will queue
    // this key again within milliseconds, and that pass computes status from what the server
    // made of the write. A status written now ("creating", or the size before a resize) would
    // be superseded at once; skipping it saves one write per new or resized object and
    // shortens the pass, which is what a burst of new objects waits on. A create still on its
    // way to the cache ('pending') is checked again after the expectation window in case its
    // watch event never comes (the object was deleted at once).
    const pending = outcomes.some((o) => o.outcome === 'pending');
    const awaitingEvent = pending || outcomes.some((o) => o.outcome === 'created' || o.outcome === 'applied');
    if (awaitingEvent && !problem) return pending ? { writes, requeueAfter: this.expectationMs } : { writes };

    const deployment = caches.deployment(namespace, name);
    const owned = deployment && isControlledBy(deployment, cr) ? deployment : undefined;
    const status = computeStatus({
      cr,
      size,
      deployment: owned,
      pods: owned ? caches.pods(namespace, memcachedSelector(name)) : [],
      problem,
      now: this.o.now?.() ?? new Date(),
    });
    const last = this.written.get(key);
    const alreadyWritten =
      last && last.resourceVersion === cr.metadata?.resourceVersion && sameStatus(status, last.status);
    if (!sameStatus(status, cr.status) && !alreadyWritten) {
      // Progress only (a pod more or less, a count): coalesce into one write per interval.
      // Pass the key back for the rest of the interval; whatever the object shows then is written.
      // Compared with what the object shows, or, while the cache still shows the version the
      // last write was computed from, with that write: otherwise a progress step arriving before
      // the echo of the last write would look like a transition against the stale status.
      const shown = last && last.resourceVersion === cr.metadata?.resourceVersion ? last.status : cr.status;
      // Only while a rollout runs: once it has ended, what is left (say, pods that went after
      // the Deployment reported completion) is written at once, or status.nodes would list
      // pods that are gone for the length of an interval.
      const progress = !problem && rollingOut(status) && onlyProgress(shown, status);
      const progressInterval = this.o.progressIntervalMs ?? 60_000;
      const interval = progressInterval * 2 ** Math.min(3, last?.progressWrites ?? 0);
      const sinceLast = last ? performance.now() - last.at : Infinity;
      if (progress && sinceLast < interval) {
        return { writes, requeueAfter: Math.ceil(interval - sinceLast) };
      }
      // A new generation whose rollout is under way: report it when the rollout ends (or
      // fails, or something goes wrong), or once the progress interval has passed, whichever
      // comes first. Until then the status keeps reporting the previous generation, which is
      // what a stale observedGeneration says: kubectl wait and kstatus do not take its
      // conditions for the new spec. A resize then costs one status write instead of two, and
      // the first of those two used to land while the control plane was busiest.
      const waited = settlingGeneration(shown, status) ? this.settling(key, status.observedGeneration!) : undefined;
      if (waited !== undefined && waited < progressInterval) {
        return { writes, requeueAfter: Math.ceil(progressInterval - waited) };
      }
      this.settlingSince.delete(key);
      const degradedBefore = conditionOf(cr.status, 'Degraded');
      await writer.patchStatus(cr, status);
      this.written.set(key, {
        resourceVersion: cr.metadata?.resourceVersion,
        status,
        at: performance.now(),
        progressWrites: progress ? (last?.progressWrites ?? 0) + 1 : 0,
      });
      writes++;
      if (problem && !(degradedBefore?.status === 'True' && degradedBefore.reason === problem.reason)) {
        void this.emit(cr, 'Warning', problem.reason, problem.message);
        // A failure retrying cannot fix is not thrown (the controller would log it on every
        // retry): logged here, once when the object turns Degraded. Transient ones are thrown below.
        if (permanentError) {
          const { kind, error } = permanentError;
          this.o.log?.error('apply failed, not retried until the object or its operands change', error, {
            namespace,
            name,
            kind,
          });
        }
      }
    }
    if (transientError) throw transientError;
    return { writes };
  }

  /** Events are best effort and not waited for: failing to record one never fails a reconcile. */
  private async emit(cr: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    try {
      await this.o.writer.event(cr, type, reason, message);
    } catch (err) {
      this.o.log?.error('cannot record event', err, {
        namespace: cr.metadata?.namespace,
        name: cr.metadata?.name,
        reason,
      });
    }
  }

  private get expectationMs(): number {
    return this.o.createExpectationMs ?? 5000;
  }

  /** Creates, corrects or leaves alone one operand object. */
  private async ensure(
    key: string,
    cr: KubeObject,
    kind: string,
    desired: JsonObject,
    live: KubeObject | undefined,
  ): Promise<Outcome> {
    const { writer } = this.o;
    const ref = `${kind} ${desired.metadata.namespace}/${desired.metadata.name}`;
    const expected = this.expected.get(key);
    if (!live) {
      const since = expected?.get(kind);
      if (since !== undefined && performance.now() - since < this.expectationMs) return 'pending';
      // Create, not apply: if an object of that name appeared after our cache last saw the
      // namespace, create fails with 409 instead of merging into somebody else's object.
      try {
        await writer.create(desired);
      } catch (err) {
        if (httpStatus(err) !== 409) throw err;
        // Exists, but whose? Most often this operator's own create that the cache has not
        // delivered yet (a reconcile racing its watch events, or a create from before a
        // restart). The informer will deliver the object either way, and its event queues
        // this key: then the cache shows whether it is ours or a conflict.
        this.expect(key, kind);
        this.o.log?.debug('create found an existing object; waiting for the cache to show it', { object: ref });
        return 'pending';
      }
      this.expect(key, kind);
      return 'created';
    }
    if (expected?.delete(kind) && expected.size === 0) this.expected.delete(key);
    if (!isControlledBy(live, cr)) return 'conflict';
    const drift = operandDrift(desired, live);
    if (drift.length === 0) return 'unchanged';
    const before = live.spec?.replicas;
    const resize = kind === 'Deployment' && drift.length === 1 && drift[0] === 'spec.replicas';
    // A resize changes one field: a merge patch of it costs the API server about 20 % less CPU
    // than applying the whole Deployment (bench/write-cost.ts), and a resize of every object
    // at once is a burst the whole control plane works through. Anything else is applied. The
    // patch names the live object's uid: should the name be taken by another object since the
    // cache saw it, the server refuses the patch (uid is immutable) instead of resizing it.
    const result = resize
      ? await writer.patch(desired, {
          metadata: { uid: live.metadata.uid },
          spec: { replicas: desired.spec.replicas },
        })
      : await writer.apply(desired);
    // A resize is recorded by the Deployment controller on the Deployment (ScalingReplicaSet)
    // and shows in status (observedGeneration, Progressing); an Event here would repeat it at
    // the cost of one more request per resized object. Restoring somebody's hand edit is news
    // to a user of `kubectl describe`, and rare: it keeps its Event.
    if (resize) {
      this.o.log?.info('scaled operand', { object: ref, from: before, to: desired.spec.replicas });
    } else {
      void this.emit(cr, 'Normal', 'Updated', `Restored ${ref}: ${summarize(drift)}`);
      this.o.log?.info('applied operand', { object: ref, drift: drift.slice(0, 10), fieldManager: FIELD_MANAGER });
    }
    // If the server changed the object, its watch event follows; if the apply changed nothing
    // (a field the server normalizes), no event will come and status must be written now.
    const changed = result ? result.metadata?.resourceVersion !== live.metadata?.resourceVersion : false;
    return changed ? 'applied' : 'applied-unchanged';
  }

  /** How long (ms) the report of `generation` has been held for `key`; starts the clock. */
  private settling(key: string, generation: number): number {
    const now = performance.now();
    const held = this.settlingSince.get(key);
    if (held?.generation === generation) return now - held.since;
    this.settlingSince.set(key, { generation, since: now });
    return 0;
  }

  private expect(key: string, kind: string): void {
    let kinds = this.expected.get(key);
    if (!kinds) this.expected.set(key, (kinds = new Map()));
    kinds.set(kind, performance.now());
  }
}

/**
 * True when `next` differs from `current` only in progress: pod names, counts, condition
 * reasons and messages, while every condition keeps its status and observedGeneration is the
 * same. Such a change may wait; a transition (Available, Progressing or Degraded flipping, a
 * new generation) may not.
 */
export function onlyProgress(current: MemcachedStatus | undefined, next: MemcachedStatus): boolean {
  if (!current?.conditions) return false;
  if (current.observedGeneration !== next.observedGeneration || current.selector !== next.selector) return false;
  if (current.conditions.length !== next.conditions?.length) return false;
  return next.conditions.every((c) => current.conditions!.some((o) => o.type === c.type && o.status === c.status));
}

/** True while the Deployment rolls out (Progressing=True). */
function rollingOut(status: MemcachedStatus): boolean {
  return conditionOf(status, 'Progressing')?.status === 'True';
}

/**
 * True when `next` reports a newer generation than `current` while its Deployment is rolling
 * out, and `current` reports a healthy earlier generation: a report that may wait for the
 * rollout to settle. The first status of a new object, any problem, a failed rollout and a
 * status that shows a problem to be cleared are never held.
 */
export function settlingGeneration(current: MemcachedStatus | undefined, next: MemcachedStatus): boolean {
  const before = current?.observedGeneration;
  const after = next.observedGeneration;
  if (before === undefined || after === undefined || before >= after) return false;
  if (conditionOf(current, 'Degraded')?.status !== 'False') return false;
  // RollingOut is only ever computed with no problem and no failed rollout (status.ts).
  const progressing = conditionOf(next, 'Progressing');
  return progressing?.status === 'True' && progressing.reason === 'RollingOut';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function summarize(paths: string[]): string {
  const shown = paths.slice(0, 5).join(', ');
  return paths.length > 5 ? `${shown} and ${paths.length - 5} more` : shown;
}
