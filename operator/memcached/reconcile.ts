// One reconcile of one Memcached object: read the caches, render the operand with the shared
// construct, write only what differs, and report status only when it changes.
import { FIELD_MANAGER, PORT_DEFAULT, SIZE_DEFAULT } from '../../constructs/memcached-api';
import { memcachedSelector, renderMemcachedOperand } from '../../constructs/memcached-operand';
import { errorMessage, httpStatus, isTerminalApiError, type ReconcileResult } from '../runtime/errors';
import type { Logger } from '../runtime/log';
import { isControlledBy, splitKey, type KubeObject } from '../runtime/object';
import { operandDrift } from './drift';
import { computeStatus, MemcachedStatus, Problem, sameStatus } from './status';

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
  create(obj: Record<string, any>): Promise<void>;
  apply(obj: Record<string, any>): Promise<void>;
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
}

export interface MemcachedResult extends ReconcileResult {
  /** Number of API writes this reconcile made (for tests and benchmarks). */
  writes: number;
}

export class Reconciler {
  /**
   * The last status written per key, with the resourceVersion of the object it was computed
   * from. Until the cache shows the write, an identical status is not written again.
   */
  private readonly written = new Map<string, { resourceVersion?: string; status: MemcachedStatus }>();

  /**
   * The last rendered operand per key and the inputs it came from. Most reconciles are status
   * refreshes (a pod became ready) with unchanged inputs; synthesizing the construct tree again
   * for them was a tenth of the operator's CPU time in the benchmark. The objects are frozen:
   * nothing downstream may change a cached rendering.
   */
  private readonly rendered = new Map<string, { inputs: string; operand: ReturnType<typeof renderMemcachedOperand> }>();

  constructor(private readonly o: ReconcilerOptions) {}

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

  private render(key: string, owner: { apiVersion: string; name: string; namespace: string; uid: string }, size: number, containerPort: number) {
    const inputs = JSON.stringify([owner.apiVersion, owner.uid, size, containerPort, this.o.image]);
    const cached = this.rendered.get(key);
    if (cached?.inputs === inputs) return cached.operand;
    const operand = deepFreeze(renderMemcachedOperand({ owner, spec: { size, containerPort }, image: this.o.image }));
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
      return { writes: 0 };
    }

    let writes = 0;
    const size = cr.spec?.size ?? SIZE_DEFAULT;
    const containerPort = cr.spec?.containerPort ?? PORT_DEFAULT;
    const rendered = this.render(key, { apiVersion: cr.apiVersion!, name, namespace, uid: cr.metadata!.uid! }, size, containerPort);

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
            this.ensure(cr, kind, desired, live).then(
              (outcome) => ({ kind, outcome, error: undefined as unknown }),
              (error: unknown) => ({ kind, outcome: 'failed' as const, error }),
            ),
          ),
        );
    let problem: Problem | undefined;
    let transientError: unknown;
    // One event for everything a reconcile created (usually both objects on the first pass).
    const created = outcomes.filter((o) => o.outcome === 'created').map((o) => o.kind);
    if (created.length) void this.emit(cr, 'Normal', 'Created', `Created ${created.join(' and ')} ${namespace}/${name}`);
    for (const { kind, outcome, error } of outcomes) {
      if (outcome === 'created' || outcome === 'applied') writes++;
      if (problem) continue; // the first problem (Deployment before Service) is reported
      const code = error === undefined ? undefined : httpStatus(error);
      if (outcome === 'conflict' || code === 409) {
        problem = { reason: 'ResourceConflict', message: `${kind} ${namespace}/${name} exists and is not owned by this Memcached; it is left untouched` };
      } else if (outcome === 'failed') {
        problem = { reason: 'ApplyFailed', message: `${kind} ${namespace}/${name}: ${errorMessage(error)}` };
        // Errors retrying cannot fix are reported on the object only; others also go back to
        // the queue (thrown below) to be retried with backoff.
        if (!isTerminalApiError(error)) transientError = error;
      }
    }

    // Objects were just created and nothing failed: their watch events will queue this key
    // again within milliseconds, and that pass computes status from objects that exist. A
    // status written now ("creating") would be superseded at once; skipping it saves one write
    // per new object and shortens the first pass, which is what a burst of new objects waits on.
    if (created.length && !problem) return { writes };

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
    const alreadyWritten = last && last.resourceVersion === cr.metadata?.resourceVersion && sameStatus(status, last.status);
    if (!sameStatus(status, cr.status) && !alreadyWritten) {
      const degradedBefore = (cr.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Degraded');
      await writer.patchStatus(cr, status);
      this.written.set(key, { resourceVersion: cr.metadata?.resourceVersion, status });
      writes++;
      if (problem && !(degradedBefore?.status === 'True' && degradedBefore.reason === problem.reason)) {
        void this.emit(cr, 'Warning', problem.reason, problem.message);
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
      this.o.log?.error('cannot record event', err, { reason });
    }
  }

  /** Creates, corrects or leaves alone one operand object. */
  private async ensure(cr: KubeObject, kind: string, desired: Record<string, any>, live: KubeObject | undefined): Promise<'created' | 'conflict' | 'unchanged' | 'applied'> {
    const { writer } = this.o;
    const ref = `${kind} ${desired.metadata.namespace}/${desired.metadata.name}`;
    if (!live) {
      // Create, not apply: if an object of that name appeared after our cache last saw the
      // namespace, create fails with 409 instead of merging into somebody else's object.
      await writer.create(desired);
      return 'created';
    }
    if (!isControlledBy(live, cr)) return 'conflict';
    const drift = operandDrift(desired, live);
    if (drift.length === 0) return 'unchanged';
    await writer.apply(desired);
    const before = live.spec?.replicas;
    if (kind === 'Deployment' && before !== desired.spec.replicas && drift.every((p) => p === 'spec.replicas')) {
      void this.emit(cr, 'Normal', 'Scaled', `Scaled ${ref} from ${before} to ${desired.spec.replicas} replicas`);
    } else {
      void this.emit(cr, 'Normal', 'Updated', `Restored ${ref}: ${summarize(drift)}`);
    }
    this.o.log?.info('applied operand', { object: ref, drift: drift.slice(0, 10), fieldManager: FIELD_MANAGER });
    return 'applied';
  }
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
