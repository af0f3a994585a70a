// The reconcile logic against in-memory caches and a recording writer (the project's own
// interfaces; the API behaviour itself is covered by the integration suite).
import { renderMemcachedOperand } from '../../../../constructs/memcached-operand';
import { Caches, onlyProgress, Reconciler, settlingGeneration, Writer } from '../../../../operator/memcached/reconcile';
import type { KubeObject } from '../../../../operator/runtime/object';
import { createLogger, type Logger } from '../../../../operator/runtime/log';
import { memcachedApiVersion, PORT_DEFAULT } from '../../../../constructs/memcached-api';

const cr: KubeObject = {
  apiVersion: memcachedApiVersion(),
  kind: 'Memcached',
  metadata: { name: 'm', namespace: 'ns', uid: 'uid-m', generation: 1 },
  spec: { size: 2, containerPort: PORT_DEFAULT },
};
const IMAGE = 'memcached:1.6.39-alpine';

// Operand objects as the shared construct renders them (plain records; the caches hold KubeObjects).
type Operand = Record<string, any>;

function setup(
  objects: {
    deployment?: Operand;
    service?: Operand;
    pods?: Operand[];
    fail?: (op: string) => unknown;
    applied?: (o: Operand) => KubeObject;
    createExpectationMs?: number;
    log?: Logger;
  } = {},
) {
  const calls: string[] = [];
  const messages: string[] = [];
  const sent: { op: string; body: any }[] = [];
  const caches: Caches = {
    memcached: (ns, n) => (ns === 'ns' && n === 'm' ? cr : undefined),
    deployment: () => objects.deployment as KubeObject | undefined,
    service: () => objects.service as KubeObject | undefined,
    pods: () => (objects.pods ?? []) as KubeObject[],
  };
  const op = async (name: string) => {
    calls.push(name);
    const err = objects.fail?.(name);
    if (err) throw err;
  };
  const writer: Writer = {
    create: (o) => (sent.push({ op: 'create', body: o }), op(`create ${o.kind}`)),
    apply: (o) => (sent.push({ op: 'apply', body: o }), op(`apply ${o.kind}`).then(() => objects.applied?.(o))),
    patch: (o, patch) => (
      sent.push({ op: 'patch', body: patch }),
      op(`patch ${o.kind}`).then(() => objects.applied?.(o))
    ),
    patchStatus: (_c, s: any) => (
      sent.push({ op: 'status', body: s }),
      op(`status ${s.conditions.find((c: any) => c.type === 'Degraded').reason}`)
    ),
    event: (_c, type, reason, message) => {
      messages.push(`${reason}: ${message}`);
      return op(`event ${type} ${reason}`);
    },
  };
  return {
    calls,
    messages,
    sent,
    reconciler: new Reconciler({
      caches,
      writer,
      image: IMAGE,
      now: () => new Date(0),
      createExpectationMs: objects.createExpectationMs,
      log: objects.log,
    }),
  };
}

const rendered = renderMemcachedOperand({
  owner: { apiVersion: cr.apiVersion!, name: 'm', namespace: 'ns', uid: 'uid-m' },
  spec: { size: 2, containerPort: PORT_DEFAULT },
  image: IMAGE,
});

describe('Reconciler', () => {
  it('creates the Deployment and Service when they are missing', async () => {
    const { calls, messages, reconciler } = setup();
    const r = await reconciler.reconcile('ns/m');
    await settle();
    // no status yet: the new objects' watch events bring the key back for that; no Event
    // either (the status and the objects themselves show it)
    expect(calls.sort()).toEqual(['create Deployment', 'create Service']);
    expect(messages).toEqual([]);
    expect(r.writes).toBe(2);
  });

  it('writes nothing when the caches already hold the desired state and status', async () => {
    const deployment = {
      ...rendered.deployment,
      status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 },
    };
    const first = setup({ deployment, service: rendered.service });
    await first.reconciler.reconcile('ns/m');
    expect(first.calls).toEqual(['status AsExpected']);
  });

  it('resizes with one merge patch of spec.replicas guarded by the uid: no Event (the Deployment records scaling), status after the watch event', async () => {
    const deployment = structuredClone(rendered.deployment);
    deployment.spec.replicas = 7;
    deployment.metadata.resourceVersion = '10';
    deployment.metadata.uid = 'uid-d';
    const { calls, sent, messages } = await run({
      deployment,
      service: rendered.service,
      applied: (o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '11' } }) as KubeObject,
    });
    // the patch changed the Deployment, so its watch event brings the key back for the status
    expect(calls).toEqual(['patch Deployment']);
    expect(sent).toEqual([{ op: 'patch', body: { metadata: { uid: 'uid-d' }, spec: { replicas: 2 } } }]);
    expect(messages).toEqual([]);
  });

  it('applies the whole Deployment when more than the replica count differs', async () => {
    const deployment = structuredClone(rendered.deployment);
    deployment.spec.replicas = 7;
    deployment.spec.template.spec.containers[0].image = 'memcached:1.6.0-alpine';
    deployment.metadata.resourceVersion = '10';
    const { calls, sent } = await run({
      deployment,
      service: rendered.service,
      applied: (o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '11' } }) as KubeObject,
    });
    expect(calls).toEqual(['apply Deployment', 'event Normal Updated']);
    expect(sent.map((x) => x.op)).toEqual(['apply']);
  });

  it('writes status right after a write that changed nothing on the server (no watch event will come)', async () => {
    const deployment = structuredClone(rendered.deployment);
    deployment.spec.replicas = 7;
    deployment.metadata.resourceVersion = '10';
    const { calls } = await run({
      deployment,
      service: rendered.service,
      applied: (o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '10' } }) as KubeObject,
    });
    expect(calls).toEqual(['patch Deployment', 'status AsExpected']);
  });

  it('restores a hand-edited field with an apply and an Updated event naming it', async () => {
    const deployment = structuredClone(rendered.deployment);
    deployment.spec.template.spec.containers[0].image = 'nginx';
    const { calls, messages } = await run({ deployment, service: rendered.service });
    expect(calls).toEqual(expect.arrayContaining(['apply Deployment', 'event Normal Updated']));
    expect(messages).toEqual(['Updated: Restored Deployment ns/m: spec.template.spec.containers[0].image']);
  });

  it('never touches a Deployment it does not own, and reports it', async () => {
    const foreign = { metadata: { name: 'm', namespace: 'ns', ownerReferences: [] }, spec: { replicas: 1 } };
    const { calls } = await run({ deployment: foreign });
    // Not even the missing Service is created under a name somebody else uses.
    expect(calls).toEqual(['status ResourceConflict', 'event Warning ResourceConflict']);
  });

  it('treats a 409 on create as "wait for the cache", not as a conflict: no Degraded, no Warning, a requeue', async () => {
    const objects: Parameters<typeof setup>[0] = {
      fail: (op) => (op === 'create Deployment' ? { code: 409 } : undefined),
    };
    const { calls, messages, reconciler } = setup(objects);
    const r = await reconciler.reconcile('ns/m');
    await settle();
    expect(calls.sort()).toEqual(['create Deployment', 'create Service']);
    expect(messages).toEqual([]);
    expect(r.requeueAfter).toBe(5000);
    // A reconcile before the cache shows the objects creates nothing again and reports nothing.
    calls.length = 0;
    expect(await reconciler.reconcile('ns/m')).toEqual({ writes: 0, requeueAfter: 5000 });
    expect(calls).toEqual([]);
    // The cache delivers the Deployment: it is this Memcached's (its own earlier create), so all is well.
    objects.deployment = {
      ...rendered.deployment,
      status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 },
    };
    objects.service = rendered.service;
    await reconciler.reconcile('ns/m');
    expect(calls).toEqual(['status AsExpected']);
  });

  it('after a 409 on create, reports the conflict once the cache shows a foreign object', async () => {
    const objects: Parameters<typeof setup>[0] = {
      fail: (op) => (op === 'create Deployment' ? { code: 409 } : undefined),
    };
    const { calls, reconciler } = setup(objects);
    await reconciler.reconcile('ns/m');
    objects.deployment = { metadata: { name: 'm', namespace: 'ns', ownerReferences: [] }, spec: { replicas: 1 } };
    objects.service = rendered.service;
    calls.length = 0;
    await reconciler.reconcile('ns/m');
    await settle();
    expect(calls).toEqual(['status ResourceConflict', 'event Warning ResourceConflict']);
  });

  it('creates again when a create it expected never reached the cache within the window', async () => {
    const { calls, reconciler } = setup({ createExpectationMs: 30 });
    await reconciler.reconcile('ns/m');
    await reconciler.reconcile('ns/m');
    expect(calls.filter((c) => c.startsWith('create'))).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 40));
    await reconciler.reconcile('ns/m');
    expect(calls.filter((c) => c.startsWith('create'))).toHaveLength(4);
  });

  it('reports a rejected write (422) on the object without throwing', async () => {
    const { calls } = await run({
      fail: (op) => (op === 'create Service' ? { code: 422, body: '{"message":"bad name"}' } : undefined),
    });
    expect(calls).toContain('status ApplyFailed');
  });

  it("logs a permanent failure once, naming the object, the status and the server's message", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l) => void lines.push(JSON.parse(l)) });
    const { reconciler } = await run({
      log,
      fail: (op) =>
        op === 'create Service'
          ? { code: 422, body: '{"kind":"Status","reason":"Invalid","message":"Service \\"m\\" is invalid: bad name"}' }
          : undefined,
    });
    for (let i = 0; i < 3; i++) await reconciler.reconcile('ns/m');
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/^apply failed/),
        namespace: 'ns',
        name: 'm',
        kind: 'Service',
        httpStatus: 422,
        statusReason: 'Invalid',
        error: 'Service "m" is invalid: bad name',
      }),
    ]);
  });

  it('logs an event it cannot record with the object, and carries on', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l) => void lines.push(JSON.parse(l)) });
    const { calls } = await run({
      log,
      fail: (op) =>
        op === 'create Service'
          ? { code: 422, body: '{"message":"bad name"}' }
          : op.startsWith('event')
            ? { code: 403, body: '{"reason":"Forbidden","message":"events is forbidden"}' }
            : undefined,
    });
    expect(calls).toContain('status ApplyFailed');
    expect(lines.find((l) => l.msg === 'cannot record event')).toMatchObject({
      namespace: 'ns',
      name: 'm',
      reason: 'ApplyFailed',
      httpStatus: 403,
      statusReason: 'Forbidden',
      error: 'events is forbidden',
    });
  });

  it('reports a transient failure and throws so the queue retries with backoff', async () => {
    const { reconciler, calls } = setup({ fail: (op) => (op === 'create Deployment' ? { code: 503 } : undefined) });
    await expect(reconciler.reconcile('ns/m')).rejects.toEqual({ code: 503 });
    expect(calls).toContain('status ApplyFailed');
  });

  it('does not write the same status twice while the cache still shows the old object', async () => {
    const deployment = {
      ...rendered.deployment,
      status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 },
    };
    const { reconciler, calls } = setup({ deployment, service: rendered.service });
    await reconciler.reconcile('ns/m');
    await reconciler.reconcile('ns/m');
    expect(calls.filter((c) => c.startsWith('status'))).toHaveLength(1);
  });

  it('writes progress (pods, counts) at most once per interval, and transitions at once', async () => {
    const d = (ready: number, pods = ready) => ({
      ...rendered.deployment,
      status: {
        observedGeneration: 1,
        replicas: pods,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: pods,
      },
    });
    const objects: Parameters<typeof setup>[0] = { deployment: d(0, 2), service: rendered.service };
    const { reconciler, sent } = setup(objects);
    const statuses = () => sent.filter((x) => x.op === 'status').map((x) => x.body);
    const show = (status: any, rv: string) =>
      Object.assign(cr, { status, metadata: { ...cr.metadata, resourceVersion: rv } });
    try {
      // the first status (none before) is written at once
      expect(await reconciler.reconcile('ns/m')).toEqual({ writes: 1 });
      show(statuses()[0], '2');
      // one pod ready: only counts changed → held back, the key comes back within the interval
      objects.deployment = d(1, 2);
      const held = await reconciler.reconcile('ns/m');
      expect(held.writes).toBe(0);
      // (the default interval: 60 s)
      expect(held.requeueAfter).toBeGreaterThan(59_000);
      expect(held.requeueAfter).toBeLessThanOrEqual(60_000);
      // all ready: Available flips → written at once, with everything as it is now
      objects.deployment = d(2);
      await reconciler.reconcile('ns/m');
      expect(statuses()).toHaveLength(2);
      expect(statuses()[1]).toMatchObject({ readyReplicas: 2, replicas: 2 });
      expect(statuses()[1].conditions.find((c: any) => c.type === 'Available').status).toBe('True');
    } finally {
      delete cr.status;
      delete cr.metadata.resourceVersion;
    }
  });

  it('doubles the progress interval with each progress write of a rollout; a transition is written at once', async () => {
    const d = (ready: number, pods: number) => ({
      ...rendered.deployment,
      status: {
        observedGeneration: 1,
        replicas: pods,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: pods,
      },
    });
    const objects: Parameters<typeof setup>[0] = { deployment: d(0, 1), service: rendered.service };
    const { reconciler, sent } = setup(objects);
    const s = new Reconciler({ ...(reconciler as any).o, progressIntervalMs: 50 });
    const statuses = () => sent.filter((x) => x.op === 'status').map((x) => x.body);
    const show = (rv: string) =>
      Object.assign(cr, { status: statuses().at(-1), metadata: { ...cr.metadata, resourceVersion: rv } });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      await s.reconcile('ns/m'); // first status: a transition
      show('2');
      objects.deployment = d(0, 2); // progress: one more pod
      expect((await s.reconcile('ns/m')).requeueAfter).toBeLessThanOrEqual(50);
      await sleep(60);
      await s.reconcile('ns/m'); // written after 50 ms
      expect(statuses()).toHaveLength(2);
      show('3');
      objects.deployment = d(1, 2); // progress again: now held for 100 ms
      await sleep(60);
      const held = await s.reconcile('ns/m');
      expect(held.writes).toBe(0);
      expect(held.requeueAfter).toBeGreaterThan(20);
      expect(statuses()).toHaveLength(2);
      objects.deployment = d(2, 2); // Available flips: at once
      await s.reconcile('ns/m');
      expect(statuses()).toHaveLength(3);
    } finally {
      delete cr.status;
      delete cr.metadata.resourceVersion;
    }
  });

  it('writes what changed after a rollout ended at once (pods that went after it are not progress)', async () => {
    const done = {
      ...rendered.deployment,
      status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 },
    };
    const pod = (name: string) => ({ metadata: { name, namespace: 'ns' } });
    const objects: Parameters<typeof setup>[0] = {
      deployment: done,
      service: rendered.service,
      pods: [pod('a'), pod('b'), pod('c')], // c is on its way out; its deletion has not reached the cache
    };
    const { reconciler, sent } = setup(objects);
    const statuses = () => sent.filter((x) => x.op === 'status').map((x) => x.body);
    try {
      await reconciler.reconcile('ns/m');
      Object.assign(cr, { status: statuses()[0], metadata: { ...cr.metadata, resourceVersion: '2' } });
      expect(statuses()[0].nodes).toEqual(['a', 'b', 'c']);
      objects.pods = [pod('a'), pod('b')];
      expect(await reconciler.reconcile('ns/m')).toEqual({ writes: 1 });
      expect(statuses()[1].nodes).toEqual(['a', 'b']);
    } finally {
      delete cr.status;
      delete cr.metadata.resourceVersion;
    }
  });

  it('holds back progress that arrives before the cache shows its last write (compared with that write, not the stale status)', async () => {
    const d = (ready: number, pods: number) => ({
      ...rendered.deployment,
      status: {
        observedGeneration: 1,
        replicas: pods,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: pods,
      },
    });
    const objects: Parameters<typeof setup>[0] = { deployment: d(0, 1), service: rendered.service };
    const { reconciler, sent } = setup(objects);
    await reconciler.reconcile('ns/m'); // first status, written; the cache still shows no status
    objects.deployment = d(0, 2); // a pod more, before the echo
    const held = await reconciler.reconcile('ns/m');
    expect(held.writes).toBe(0);
    expect(held.requeueAfter).toBeGreaterThan(9000);
    expect(sent.filter((x) => x.op === 'status')).toHaveLength(1);
  });

  describe('the first report of a new generation waits for its rollout', () => {
    // The object at generation 2 (say, resized), its status still reporting a healthy generation 1.
    const reported = (degraded: 'True' | 'False' = 'False') => ({
      observedGeneration: 1,
      selector: 'x',
      nodes: ['a', 'b'],
      replicas: 2,
      readyReplicas: 2,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: '2/2 pods ready',
          observedGeneration: 1,
          lastTransitionTime: 't',
        },
        {
          type: 'Progressing',
          status: 'False',
          reason: 'RolloutComplete',
          message: 'done',
          observedGeneration: 1,
          lastTransitionTime: 't',
        },
        {
          type: 'Degraded',
          status: degraded,
          reason: degraded === 'True' ? 'ApplyFailed' : 'AsExpected',
          message: 'm',
          observedGeneration: 1,
          lastTransitionTime: 't',
        },
      ],
    });
    // The Deployment part way through (or done with, or stuck in) its rollout of 2 pods.
    const d = (updated: number, extra: object = {}) => ({
      ...rendered.deployment,
      metadata: { ...rendered.deployment.metadata, generation: 2 },
      status: {
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: updated,
        readyReplicas: 2,
        availableReplicas: updated === 2 ? 2 : 1,
        ...extra,
      },
    });
    const at = async (status: object, body: (objects: Parameters<typeof setup>[0]) => Promise<void>) => {
      const saved = { ...cr.metadata };
      Object.assign(cr, { status, metadata: { ...cr.metadata, generation: 2, resourceVersion: '5' } });
      try {
        await body({ deployment: d(1), service: rendered.service });
      } finally {
        delete cr.status;
        cr.metadata = saved;
      }
    };

    it('holds it while the rollout runs, then writes it once when the rollout ends', () =>
      at(reported(), async (objects) => {
        const { reconciler, sent } = setup(objects);
        const held = await reconciler.reconcile('ns/m');
        expect(held.writes).toBe(0);
        // checked again when the interval (60 s by default) is up, if nothing happens before
        expect(held.requeueAfter).toBeGreaterThan(59_000);
        expect(held.requeueAfter).toBeLessThanOrEqual(60_000);
        expect((await reconciler.reconcile('ns/m')).writes).toBe(0); // a pod event: still held
        objects!.deployment = d(2);
        expect((await reconciler.reconcile('ns/m')).writes).toBe(1);
        const [status] = sent.filter((x) => x.op === 'status').map((x) => x.body);
        expect(status.observedGeneration).toBe(2);
        expect(status.conditions.map((c: any) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
          ['Available', 'True', 'MinimumReplicasAvailable', 2],
          ['Progressing', 'False', 'RolloutComplete', 2],
          ['Degraded', 'False', 'AsExpected', 2],
        ]);
      }));

    it('writes Progressing once the interval is up, and holds nothing after that', () =>
      at(reported(), async (objects) => {
        const { reconciler, sent } = setup(objects);
        const r = new Reconciler({ ...(reconciler as any).o, progressIntervalMs: 40 });
        expect((await r.reconcile('ns/m')).requeueAfter).toBeLessThanOrEqual(40);
        await new Promise((done) => setTimeout(done, 50));
        expect((await r.reconcile('ns/m')).writes).toBe(1);
        const [status] = sent.filter((x) => x.op === 'status').map((x) => x.body);
        expect(status.observedGeneration).toBe(2);
        expect(status.conditions.find((c: any) => c.type === 'Progressing')).toMatchObject({
          status: 'True',
          reason: 'RollingOut',
          message: '1/2 pods updated',
        });
      }));

    it('writes at once when the rollout fails', () =>
      at(reported(), async (objects) => {
        objects!.deployment = d(1, {
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'slow' }],
        });
        const { reconciler, calls } = setup(objects);
        expect((await reconciler.reconcile('ns/m')).writes).toBe(1);
        expect(calls).toEqual(['status ProgressDeadlineExceeded']);
      }));

    it('writes at once when the reported status shows a problem (its clearing is news)', () =>
      at(reported('True'), async (objects) => {
        const { reconciler, calls } = setup(objects);
        expect((await reconciler.reconcile('ns/m')).writes).toBe(1);
        expect(calls).toEqual(['status AsExpected']);
      }));

    it('writes at once when the new generation has a problem', () =>
      at(reported(), async (objects) => {
        objects!.service = { ...rendered.service, metadata: { ...rendered.service.metadata, ownerReferences: [] } };
        const { reconciler, calls } = setup(objects);
        await reconciler.reconcile('ns/m');
        await settle();
        expect(calls).toEqual(['status ResourceConflict', 'event Warning ResourceConflict']);
      }));
  });

  it('settlingGeneration: only a healthy earlier report and a rollout under way', () => {
    const status = (generation: number | undefined, conditions: [string, string, string][]) =>
      ({
        observedGeneration: generation,
        conditions: conditions.map(([type, st, reason]) => ({ type, status: st, reason })),
      }) as any;
    const healthy = [
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'False', 'RolloutComplete'],
      ['Degraded', 'False', 'AsExpected'],
    ] as [string, string, string][];
    const rolling = [
      ['Available', 'False', 'MinimumReplicasUnavailable'],
      ['Progressing', 'True', 'RollingOut'],
      ['Degraded', 'False', 'AsExpected'],
    ] as [string, string, string][];
    expect(settlingGeneration(status(1, healthy), status(2, rolling))).toBe(true);
    // also while the earlier generation was still rolling out (a second resize)
    expect(settlingGeneration(status(1, rolling), status(2, rolling))).toBe(true);
    expect(settlingGeneration(undefined, status(1, rolling))).toBe(false); // a new object's first status
    expect(settlingGeneration(status(undefined, healthy), status(1, rolling))).toBe(false);
    expect(settlingGeneration(status(2, healthy), status(2, rolling))).toBe(false); // same generation
    expect(settlingGeneration(status(1, healthy), status(2, healthy))).toBe(false); // nothing to wait for
    // the Deployment is missing and being created again
    expect(
      settlingGeneration(
        status(1, healthy),
        status(2, [
          ['Progressing', 'True', 'Reconciling'],
          ['Degraded', 'False', 'AsExpected'],
        ]),
      ),
    ).toBe(false);
    expect(settlingGeneration(status(1, [['Degraded', 'True', 'ApplyFailed']]), status(2, rolling))).toBe(false);
  });

  it('onlyProgress: counts and messages are progress; a condition status or generation change is not', () => {
    const base = {
      observedGeneration: 1,
      selector: 's',
      nodes: ['a'],
      replicas: 1,
      readyReplicas: 0,
      conditions: [{ type: 'Available', status: 'False', reason: 'x', message: '0/1', lastTransitionTime: 't' }],
    } as any;
    expect(onlyProgress(undefined, base)).toBe(false);
    expect(
      onlyProgress(base, {
        ...base,
        nodes: ['a', 'b'],
        readyReplicas: 1,
        conditions: [{ ...base.conditions[0], message: '1/2' }],
      }),
    ).toBe(true);
    expect(onlyProgress(base, { ...base, conditions: [{ ...base.conditions[0], status: 'True' }] })).toBe(false);
    expect(onlyProgress(base, { ...base, observedGeneration: 2 })).toBe(false);
  });

  it('does nothing for an object that is gone', async () => {
    const { reconciler, calls } = setup();
    expect(await reconciler.reconcile('ns/other')).toEqual({ writes: 0 });
    expect(calls).toEqual([]);
  });

  it('recognises the echo of its own status write, and nothing else, as needing no reconcile', async () => {
    const deployment = {
      ...rendered.deployment,
      status: { observedGeneration: 1, replicas: 2, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2 },
    };
    const { reconciler, sent } = setup({ deployment, service: rendered.service });
    expect(reconciler.isOwnStatusWrite('ns/m', cr)).toBe(false); // nothing written yet
    await reconciler.reconcile('ns/m');
    const written = sent.find((s) => s.op === 'status')!.body;
    const echo = { ...cr, metadata: { ...cr.metadata, resourceVersion: '2' }, status: structuredClone(written) };
    expect(reconciler.isOwnStatusWrite('ns/m', echo)).toBe(true);
    // somebody else changed the status
    expect(reconciler.isOwnStatusWrite('ns/m', { ...echo, status: { ...written, readyReplicas: 9 } })).toBe(false);
    // the spec changed since (new generation)
    expect(reconciler.isOwnStatusWrite('ns/m', { ...echo, metadata: { ...echo.metadata, generation: 2 } })).toBe(false);
    // being deleted
    expect(
      reconciler.isOwnStatusWrite('ns/m', { ...echo, metadata: { ...echo.metadata, deletionTimestamp: 'now' } }),
    ).toBe(false);
  });

  it('reuses the rendered operand while its inputs are unchanged and never lets it be modified', async () => {
    const { reconciler, sent } = setup({ fail: (op) => (op.startsWith('create') ? { code: 503 } : undefined) });
    await expect(reconciler.reconcile('ns/m')).rejects.toEqual({ code: 503 });
    await expect(reconciler.reconcile('ns/m')).rejects.toEqual({ code: 503 });
    const deployments = sent.filter((s) => s.op === 'create' && s.body.kind === 'Deployment').map((s) => s.body);
    expect(deployments).toHaveLength(2);
    expect(deployments[1]).toBe(deployments[0]);
    expect(Object.isFrozen(deployments[0].spec.template.spec)).toBe(true);
    expect(deployments[0]).toEqual(rendered.deployment);
  });
});

async function run(objects: Parameters<typeof setup>[0]) {
  const s = setup(objects);
  await s.reconciler.reconcile('ns/m');
  await settle();
  return s;
}

/** Lets the events the reconciler records without waiting reach the writer. */
const settle = () => new Promise((r) => setImmediate(r));
