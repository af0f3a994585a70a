// The reconcile logic against in-memory caches and a recording writer (the project's own
// interfaces; the API behaviour itself is covered by the integration suite).
import { renderMemcachedOperand } from '../../../../constructs/memcached-operand';
import { Caches, Reconciler, Writer } from '../../../../operator/memcached/reconcile';
import type { KubeObject } from '../../../../operator/runtime/object';
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

function setup(objects: { deployment?: Operand; service?: Operand; fail?: (op: string) => unknown } = {}) {
  const calls: string[] = [];
  const messages: string[] = [];
  const sent: { op: string; body: any }[] = [];
  const caches: Caches = {
    memcached: (ns, n) => (ns === 'ns' && n === 'm' ? cr : undefined),
    deployment: () => objects.deployment as KubeObject | undefined,
    service: () => objects.service as KubeObject | undefined,
    pods: () => [],
  };
  const op = async (name: string) => {
    calls.push(name);
    const err = objects.fail?.(name);
    if (err) throw err;
  };
  const writer: Writer = {
    create: (o) => (sent.push({ op: 'create', body: o }), op(`create ${o.kind}`)),
    apply: (o) => op(`apply ${o.kind}`),
    patchStatus: (_c, s: any) => (sent.push({ op: 'status', body: s }), op(`status ${s.conditions.find((c: any) => c.type === 'Degraded').reason}`)),
    event: (_c, type, reason, message) => {
      messages.push(`${reason}: ${message}`);
      return op(`event ${type} ${reason}`);
    },
  };
  return { calls, messages, sent, reconciler: new Reconciler({ caches, writer, image: IMAGE, now: () => new Date(0) }) };
}

const rendered = renderMemcachedOperand({ owner: { apiVersion: cr.apiVersion!, name: 'm', namespace: 'ns', uid: 'uid-m' }, spec: { size: 2, containerPort: PORT_DEFAULT }, image: IMAGE });

describe('Reconciler', () => {
  it('creates the Deployment and Service when they are missing', async () => {
    const { calls, messages, reconciler } = setup();
    const r = await reconciler.reconcile('ns/m');
    await settle();
    // no status yet: the new objects' watch events bring the key back for that
    expect(calls.sort()).toEqual(['create Deployment', 'create Service', 'event Normal Created']);
    expect(messages).toEqual(['Created: Created Deployment and Service ns/m']);
    expect(r.writes).toBe(2);
  });

  it('writes nothing when the caches already hold the desired state and status', async () => {
    const deployment = { ...rendered.deployment, status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 } };
    const first = setup({ deployment, service: rendered.service });
    await first.reconciler.reconcile('ns/m');
    expect(first.calls).toEqual(['status AsExpected']);
  });

  it('restores a changed replica count with an apply and a Scaled event', async () => {
    const deployment = structuredClone(rendered.deployment);
    deployment.spec.replicas = 7;
    const { calls } = await run({ deployment, service: rendered.service });
    expect(calls).toEqual(expect.arrayContaining(['apply Deployment', 'event Normal Scaled']));
    expect(calls).not.toContain('apply Service');
  });

  it('never touches a Deployment it does not own, and reports it', async () => {
    const foreign = { metadata: { name: 'm', namespace: 'ns', ownerReferences: [] }, spec: { replicas: 1 } };
    const { calls } = await run({ deployment: foreign });
    // Not even the missing Service is created under a name somebody else uses.
    expect(calls).toEqual(['status ResourceConflict', 'event Warning ResourceConflict']);
  });

  it('turns a create that hits an existing object (409) into a reported conflict, not a retry', async () => {
    const { calls, messages } = await run({ fail: (op) => (op === 'create Deployment' ? { code: 409 } : undefined) });
    expect(calls).toEqual(expect.arrayContaining(['create Deployment', 'status ResourceConflict', 'event Warning ResourceConflict']));
    // only the Service was created, and only it is announced
    expect(messages).toContain('Created: Created Service ns/m');
    expect(messages.filter((m) => m.includes('Deployment') && m.startsWith('Created'))).toEqual([]);
  });

  it('reports a rejected write (422) on the object without throwing', async () => {
    const { calls } = await run({ fail: (op) => (op === 'create Service' ? { code: 422, body: '{"message":"bad name"}' } : undefined) });
    expect(calls).toContain('status ApplyFailed');
  });

  it('reports a transient failure and throws so the queue retries with backoff', async () => {
    const { reconciler, calls } = setup({ fail: (op) => (op === 'create Deployment' ? { code: 503 } : undefined) });
    await expect(reconciler.reconcile('ns/m')).rejects.toEqual({ code: 503 });
    expect(calls).toContain('status ApplyFailed');
  });

  it('does not write the same status twice while the cache still shows the old object', async () => {
    const deployment = { ...rendered.deployment, status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 } };
    const { reconciler, calls } = setup({ deployment, service: rendered.service });
    await reconciler.reconcile('ns/m');
    await reconciler.reconcile('ns/m');
    expect(calls.filter((c) => c.startsWith('status'))).toHaveLength(1);
  });

  it('does nothing for an object that is gone', async () => {
    const { reconciler, calls } = setup();
    expect(await reconciler.reconcile('ns/other')).toEqual({ writes: 0 });
    expect(calls).toEqual([]);
  });

  it('recognises the echo of its own status write, and nothing else, as needing no reconcile', async () => {
    const deployment = { ...rendered.deployment, status: { observedGeneration: 1, replicas: 2, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2 } };
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
    expect(reconciler.isOwnStatusWrite('ns/m', { ...echo, metadata: { ...echo.metadata, deletionTimestamp: 'now' } })).toBe(false);
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
