import { computeStatus, sameStatus } from '../../../../operator/memcached/status';
import { memcachedApiVersion } from '../../../../constructs/memcached-api';

const now = new Date('2026-01-01T00:00:00Z');
const cr = (status?: object) => ({
  apiVersion: memcachedApiVersion(),
  metadata: { name: 'm', namespace: 'ns', uid: 'u', generation: 2 },
  spec: { size: 3 },
  status,
});
const deployment = (s: object, generation = 1) => ({
  metadata: { name: 'm', generation },
  status: { observedGeneration: generation, ...s },
});
const pod = (name: string, deleting = false) => ({
  metadata: { name, ...(deleting ? { deletionTimestamp: 'x' } : {}) },
});
const cond = (st: any, type: string) => st.conditions.find((c: any) => c.type === type);

describe('computeStatus', () => {
  it('reports Available when every desired pod is available', () => {
    const st = computeStatus({
      cr: cr(),
      size: 3,
      deployment: deployment({ replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 }),
      pods: [pod('m-c'), pod('m-a'), pod('m-b'), pod('m-old', true)],
      now,
    });
    expect(st).toMatchObject({
      nodes: ['m-a', 'm-b', 'm-c'],
      replicas: 3,
      readyReplicas: 3,
      observedGeneration: 2,
      selector: 'app.kubernetes.io/name=memcached,app.kubernetes.io/instance=m',
    });
    expect(cond(st, 'Available')).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
      message: '3/3 pods ready',
      lastTransitionTime: '2026-01-01T00:00:00Z',
      observedGeneration: 2,
    });
    expect(cond(st, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect(cond(st, 'Degraded')).toMatchObject({ status: 'False' });
  });

  it('reports Progressing while scaling', () => {
    const st = computeStatus({
      cr: cr(),
      size: 3,
      deployment: deployment({ replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 }),
      pods: [],
      now,
    });
    expect(cond(st, 'Available')).toMatchObject({ status: 'False', message: '1/3 pods ready' });
    expect(cond(st, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'RollingOut',
      message: '1/3 pods updated',
    });
  });

  it('waits for the Deployment controller to observe a new generation', () => {
    const d = {
      metadata: { name: 'm', generation: 5 },
      status: { observedGeneration: 4, replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 },
    };
    expect(cond(computeStatus({ cr: cr(), size: 3, deployment: d, pods: [], now }), 'Progressing').status).toBe('True');
  });

  it('reports a conflict as Degraded', () => {
    const st = computeStatus({
      cr: cr(),
      size: 3,
      pods: [],
      problem: { reason: 'ResourceConflict', message: 'taken' },
      now,
    });
    expect(cond(st, 'Degraded')).toMatchObject({ status: 'True', reason: 'ResourceConflict', message: 'taken' });
    expect(cond(st, 'Available').status).toBe('False');
    expect(st.replicas).toBe(0);
  });

  it('never reports Available while part of the operand could not be applied, even with every pod ready', () => {
    const d = deployment({ replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 });
    const st = computeStatus({
      cr: cr(),
      size: 3,
      deployment: d,
      pods: [],
      problem: { reason: 'ApplyFailed', message: 'Service ns/m: bad name' },
      now,
    });
    expect(cond(st, 'Available')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(cond(st, 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    expect(st.readyReplicas).toBe(3); // the pods are still reported as they are
  });

  it('reports a failed rollout as Degraded', () => {
    const d = deployment({
      replicas: 3,
      readyReplicas: 1,
      availableReplicas: 1,
      updatedReplicas: 3,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' }],
    });
    const st = computeStatus({ cr: cr(), size: 3, deployment: d, pods: [], now });
    expect(cond(st, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ProgressDeadlineExceeded',
      message: 'too slow',
    });
  });

  describe('the conditions kstatus reads (Reconciling, Stalled), present only while True', () => {
    const types = (st: any) => st.conditions.map((c: any) => c.type);
    const ready = { replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 };

    it('Reconciling while the Deployment is created or rolls out, with its reason and message', () => {
      const creating = computeStatus({ cr: cr(), size: 3, pods: [], now });
      expect(cond(creating, 'Reconciling')).toMatchObject({
        status: 'True',
        reason: 'Reconciling',
        message: 'Creating the Deployment',
        observedGeneration: 2,
      });
      const scaling = computeStatus({
        cr: cr(),
        size: 3,
        deployment: deployment({ replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 }),
        pods: [],
        now,
      });
      expect(cond(scaling, 'Reconciling')).toMatchObject({
        status: 'True',
        reason: 'RollingOut',
        message: '1/3 pods updated',
      });
      expect(cond(scaling, 'Stalled')).toBeUndefined();
    });

    it('neither once the rollout is complete', () => {
      const st = computeStatus({ cr: cr(), size: 3, deployment: deployment(ready), pods: [], now });
      expect(types(st)).toEqual(['Available', 'Progressing', 'Degraded']);
    });

    it('Stalled for a problem only somebody else can fix: a conflict, a refused apply, a failed rollout', () => {
      const conflict = computeStatus({
        cr: cr(),
        size: 3,
        pods: [],
        problem: { reason: 'ResourceConflict', message: 'taken' },
        now,
      });
      expect(cond(conflict, 'Stalled')).toMatchObject({ status: 'True', reason: 'ResourceConflict', message: 'taken' });
      expect(cond(conflict, 'Reconciling')).toBeUndefined();
      const refused = computeStatus({
        cr: cr(),
        size: 3,
        deployment: deployment(ready),
        pods: [],
        problem: { reason: 'ApplyFailed', message: 'Service ns/m: forbidden', retrying: false },
        now,
      });
      expect(cond(refused, 'Stalled')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
      const failed = computeStatus({
        cr: cr(),
        size: 3,
        deployment: deployment({
          ...ready,
          readyReplicas: 1,
          availableReplicas: 1,
          conditions: [
            { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' },
          ],
        }),
        pods: [],
        now,
      });
      expect(cond(failed, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'ProgressDeadlineExceeded',
        message: 'too slow',
      });
      expect(cond(failed, 'Reconciling')).toBeUndefined();
    });

    it('Reconciling, not Stalled, for a failure the operator retries by itself', () => {
      const st = computeStatus({
        cr: cr(),
        size: 3,
        deployment: deployment(ready),
        pods: [],
        problem: { reason: 'ApplyFailed', message: 'Deployment ns/m: 503 Service Unavailable', retrying: true },
        now,
      });
      expect(cond(st, 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
      expect(cond(st, 'Reconciling')).toMatchObject({
        status: 'True',
        reason: 'ApplyFailed',
        message: 'retrying: Deployment ns/m: 503 Service Unavailable',
      });
      expect(cond(st, 'Stalled')).toBeUndefined();
    });
  });

  it('treats size 0 as available', () => {
    const st = computeStatus({ cr: cr(), size: 0, deployment: deployment({}), pods: [], now });
    expect(cond(st, 'Available')).toMatchObject({ status: 'True', reason: 'ScaledToZero' });
  });

  it('keeps lastTransitionTime while a condition keeps its status, so an unchanged state is not rewritten', () => {
    const input = {
      size: 3,
      deployment: deployment({ replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 }),
      pods: [pod('a')],
    };
    const first = computeStatus({ ...input, cr: cr(), now });
    const later = computeStatus({ ...input, cr: cr(first), now: new Date('2026-01-02T00:00:00Z') });
    expect(sameStatus(later, first)).toBe(true);
    const changed = computeStatus({ ...input, size: 4, cr: cr(first), now: new Date('2026-01-02T00:00:00Z') });
    expect(cond(changed, 'Available').lastTransitionTime).toBe('2026-01-02T00:00:00Z');
    expect(cond(changed, 'Degraded').lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  });

  it('compares status regardless of key order', () => {
    expect(sameStatus({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toBe(true);
    expect(sameStatus({ a: 1 }, { a: 2 })).toBe(false);
  });

  it('compares status as JSON would: absent and undefined alike, lists in order, every key counted', () => {
    expect(sameStatus({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameStatus(undefined, {})).toBe(true);
    expect(sameStatus({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameStatus({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(sameStatus({ l: [1, 2] }, { l: [2, 1] })).toBe(false);
    expect(sameStatus({ l: [{ x: 1, y: 2 }] }, { l: [{ y: 2, x: 1 }] })).toBe(true);
    expect(sameStatus({ l: [] }, { l: {} })).toBe(false);
    expect(sameStatus({ a: null }, { a: {} })).toBe(false);
    expect(sameStatus({ a: '1' }, { a: 1 })).toBe(false);
  });
});
