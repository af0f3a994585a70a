// The pure parts of the Memcached controller's wiring: which operand events are reconciled at
// once and which are coalesced, and what the pod cache keeps of a pod.
import { operandEventIsUrgent, slimPod } from '../../../../operator/memcached/setup';
import type { KubeObject } from '../../../../operator/runtime/object';

const owner = { apiVersion: 'cache.example.com/v1alpha1', kind: 'Memcached', name: 'm', uid: 'u', controller: true };

function deployment(
  generation: number,
  status: Record<string, unknown>,
  replicas = 2,
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'm', namespace: 'ns', generation, ownerReferences: [owner], ...extra },
    spec: { replicas },
    status,
  };
}

describe('operandEventIsUrgent', () => {
  const progressing = {
    observedGeneration: 1,
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: 1,
    availableReplicas: 1,
  };
  const complete = { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };

  it('coalesces the arrival of an owned object and rollout progress', () => {
    expect(operandEventIsUrgent('create', deployment(1, {}))).toBe(false);
    expect(operandEventIsUrgent('update', deployment(1, progressing), deployment(1, {}))).toBe(false);
  });

  it('handles at once: a completed or failed rollout, a spec change, deletion, a foreign object', () => {
    expect(operandEventIsUrgent('update', deployment(1, complete), deployment(1, progressing))).toBe(true);
    const failed = {
      ...progressing,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    };
    expect(operandEventIsUrgent('update', deployment(1, failed), deployment(1, progressing))).toBe(true);
    expect(operandEventIsUrgent('update', deployment(2, progressing), deployment(1, progressing))).toBe(true);
    expect(
      operandEventIsUrgent(
        'update',
        deployment(1, progressing, 2, { deletionTimestamp: 'now' }),
        deployment(1, progressing),
      ),
    ).toBe(true);
    expect(operandEventIsUrgent('delete', deployment(1, progressing))).toBe(true);
    const foreign = deployment(1, progressing, 2, { ownerReferences: [] });
    expect(operandEventIsUrgent('create', foreign)).toBe(true);
    expect(operandEventIsUrgent('update', foreign, foreign)).toBe(true);
  });

  it('does not take a Deployment the controller has not observed yet for complete', () => {
    expect(operandEventIsUrgent('update', deployment(2, complete), deployment(2, progressing))).toBe(false);
  });

  it('handles every Service update at once (they are rare: edits to repair)', () => {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'm', namespace: 'ns', ownerReferences: [owner] },
    };
    expect(operandEventIsUrgent('create', svc)).toBe(false);
    expect(operandEventIsUrgent('update', svc, svc)).toBe(true);
  });
});

describe('slimPod', () => {
  it('keeps name, namespace, uid, resourceVersion, labels and deletion; drops spec, status and the rest', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'ns',
        uid: 'u1',
        resourceVersion: '7',
        labels: { a: 'b' },
        deletionTimestamp: '2026-01-01T00:00:00Z',
        annotations: { x: 'y' },
        managedFields: [],
      } as KubeObject['metadata'],
      spec: { containers: [{ name: 'c', image: 'i' }] },
      status: { phase: 'Running' },
    };
    expect(slimPod(pod)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'ns',
        uid: 'u1',
        resourceVersion: '7',
        labels: { a: 'b' },
        deletionTimestamp: '2026-01-01T00:00:00Z',
      },
    });
    const live = slimPod({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: undefined } });
    expect(live.metadata).not.toHaveProperty('deletionTimestamp');
  });
});
