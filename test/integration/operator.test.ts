// The operator on the shared workload-tier control plane, running exactly the synthesized
// Deployment's command under the ServiceAccount and RBAC from dist/ (so any missing
// permission shows up as a 403 here). Each test works in its own restricted namespace; the
// operator watches only the namespaces of this file.
import * as k8s from '@kubernetes/client-node';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { renderMemcachedOperand } from '../../constructs/memcached-operand';
import { createTestNamespace, kubeConfig, sharedCluster, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';
import { kstatus } from '../support/kstatus';
import { installOperatorPrerequisites } from '../../cluster/operator-manifests';
import { dumpLogsOnFailure, OperatorProcess, startOperator, stopAll } from '../../cluster/operator-process';
import {
  DEFAULT_OPERATOR_NAMESPACE,
  FIELD_MANAGER,
  MEMCACHED_VERSION,
  memcachedGroup,
  PORT_DEFAULT,
} from '../../constructs/memcached-api';

const GROUP = memcachedGroup();
const VERSION = MEMCACHED_VERSION;
const OP_NS = DEFAULT_OPERATOR_NAMESPACE;
const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const coordination = kc.makeApiClient(k8s.CoordinationV1Api);

let ns: TestNamespace;
let ns2: TestNamespace;
let saKubeconfig: string;
const operators: OperatorProcess[] = [];

const mc = (namespace: string, name: string) =>
  custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'memcacheds',
    name,
  }) as Promise<any>;
const createMc = (namespace: string, name: string, spec: object = {}) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'memcacheds',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Memcached', metadata: { name }, spec },
  });
const patchMc = (namespace: string, name: string, spec: object) =>
  custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace, plural: 'memcacheds', name, body: { spec } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
/** The fields (managedFields fieldsV1) `manager` owns on `obj`, by operation. */
const ownedBy = (obj: k8s.KubernetesObject, manager: string): Record<string, any> =>
  Object.fromEntries(
    (obj.metadata?.managedFields ?? [])
      .filter((f) => f.manager === manager && !f.subresource)
      .map((f) => [f.operation, f.fieldsV1]),
  );
const execFileAsync = promisify(execFile);
const cond = (o: any, type: string) => (o.status?.conditions ?? []).find((c: any) => c.type === type);

/** Creates a ResourceQuota and waits until the quota controller has made it enforceable. */
async function createQuota(namespace: string, name: string, hard: Record<string, string>) {
  await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name }, spec: { hard } } });
  await waitFor(`quota ${name} in force`, async () =>
    (await core.readNamespacedResourceQuota({ namespace, name })).status?.hard ? true : undefined,
  );
}

async function waitAvailable(namespace: string, name: string, size: number, timeoutMs = 90_000) {
  return waitFor(
    `${namespace}/${name} Available with ${size} ready`,
    async () => {
      const o = await mc(namespace, name);
      return cond(o, 'Available')?.status === 'True' &&
        o.status.readyReplicas === size &&
        o.status.nodes?.length === size &&
        o.status.observedGeneration === o.metadata.generation
        ? o
        : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

beforeAll(async () => {
  await installOperatorPrerequisites(process.env.TEST_KUBECONFIG!);
  ns = await createTestNamespace('operator');
  ns2 = await createTestNamespace('operator-b');
  // The operator's own identity: a bound token of the ServiceAccount from dist/.
  saKubeconfig = (await sharedCluster().serviceAccountKubeconfig(OP_NS, 'memcached-operator', { create: false })).path;
  const op = startOperator({ kubeconfig: saKubeconfig, podNamespace: OP_NS, watchNamespace: `${ns.name},${ns2.name}` });
  operators.push(op);
  await op.waitForLog('workers started', (l) => l.msg === 'caches synced, starting workers', 60_000);
});

afterEach(() => dumpLogsOnFailure(operators, expect.getState()));

afterAll(async () => {
  await stopAll(operators);
  await Promise.all([ns?.delete(), ns2?.delete()]);
});

describe('memcached operator', () => {
  it('runs the sample (size 3): Deployment, Service, Running pods, status.nodes, Available', async () => {
    await createMc(ns.name, 'memcached-sample', { size: 3 });
    const o = await waitAvailable(ns.name, 'memcached-sample', 3);
    const d = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'memcached-sample' });
    expect(d.spec!.replicas).toBe(3);
    expect(d.metadata!.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Memcached',
        name: 'memcached-sample',
        uid: o.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      }),
    ]);
    expect(d.spec!.template.spec!.containers[0].image).toBe('memcached:1.6.39-alpine');
    const svc = await core.readNamespacedService({ namespace: ns.name, name: 'memcached-sample' });
    expect(svc.spec!.ports![0]).toMatchObject({ name: 'memcached', port: PORT_DEFAULT });
    const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: o.status.selector });
    expect(
      pods.items
        .filter((p) => p.status?.phase === 'Running')
        .map((p) => p.metadata!.name)
        .sort(),
    ).toEqual(o.status.nodes);
    expect(o.spec.containerPort).toBe(PORT_DEFAULT); // the CRD's default
    expect(cond(o, 'Degraded')).toMatchObject({ status: 'False' });
    expect(cond(o, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    // A healthy create is told by the status and the objects; no Warning was recorded. (Created
    // is logged, not recorded as an Event: one request less per object.)
    const events = await core.listNamespacedEvent({
      namespace: ns.name,
      fieldSelector: 'involvedObject.name=memcached-sample',
    });
    expect(events.items.filter((e) => e.type === 'Warning')).toEqual([]);
    expect(
      operators[0].lines.some(
        (l) => l.msg === 'created operand' && l.objects?.includes(`Deployment ${ns.name}/memcached-sample`),
      ),
    ).toBe(true);
  });

  it('follows spec.size: patch to 5, then `kubectl scale` to 2', async () => {
    await patchMc(ns.name, 'memcached-sample', { size: 5 });
    await waitAvailable(ns.name, 'memcached-sample', 5);
    execFileSync('kubectl', [
      '--kubeconfig',
      process.env.TEST_KUBECONFIG!,
      '-n',
      ns.name,
      'scale',
      'memcached/memcached-sample',
      '--replicas=2',
    ]);
    const o = await waitAvailable(ns.name, 'memcached-sample', 2);
    expect(o.spec.size).toBe(2);
    const d = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'memcached-sample' });
    expect(d.spec!.replicas).toBe(2);
    // A resize is a merge patch of spec.replicas, not an apply of the whole Deployment: the
    // operator's fields are still those of its create (an Update entry), with no Apply entry.
    const mine = ownedBy(d, FIELD_MANAGER);
    expect(Object.keys(mine)).toEqual(['Update']);
    expect(mine.Update['f:spec']).toHaveProperty('f:replicas');
    // The Deployment controller records the scaling on the Deployment; the operator does not repeat it.
    const scaling = await core.listNamespacedEvent({
      namespace: ns.name,
      fieldSelector: 'involvedObject.kind=Deployment,involvedObject.name=memcached-sample,reason=ScalingReplicaSet',
    });
    expect(scaling.items.length).toBeGreaterThanOrEqual(2);
    expect(
      operators[0].lines
        .filter((l) => l.msg === 'scaled operand' && l.object === `Deployment ${ns.name}/memcached-sample`)
        .map((l) => l.to),
    ).toEqual(expect.arrayContaining([5, 2]));
  });

  it('reports a resize when it settles: `kubectl wait --for=condition=Available` returns with every new pod ready', async () => {
    // Every version of the object from the resize on, as a watcher (kubectl, Flux) sees it.
    const seen: any[] = [];
    const patched: any = await patchMc(ns.name, 'memcached-sample', { size: 4 });
    const generation = patched.metadata.generation;
    const start = performance.now();
    const req = await new k8s.Watch(kc).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${ns.name}/memcacheds`,
      { fieldSelector: 'metadata.name=memcached-sample', resourceVersion: patched.metadata.resourceVersion },
      (_type, o: any) => seen.push({ at: performance.now() - start, status: o.status, object: o }),
      () => undefined,
    );
    try {
      // kubectl wait ignores conditions whose observedGeneration is older than the object's
      // generation, so the status of the previous size (Available=True) does not satisfy it.
      await execFileAsync('kubectl', [
        '--kubeconfig',
        process.env.TEST_KUBECONFIG!,
        '-n',
        ns.name,
        'wait',
        '--for=condition=Available',
        '--timeout=120s',
        'memcached/memcached-sample',
      ]);
      const d = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'memcached-sample' });
      expect(d.status!.readyReplicas).toBe(4);
      const o = await mc(ns.name, 'memcached-sample');
      expect(o.status).toMatchObject({ observedGeneration: generation, readyReplicas: 4 });
      expect(o.status.nodes).toHaveLength(4);
    } finally {
      req.abort();
    }
    // The first status that reports the new generation: the finished rollout if it ended within
    // the progress interval (60 s), otherwise Progressing with the rollout's state, written no
    // sooner than the interval. Nothing reports the new generation in between.
    const first = seen.find((v) => v.status?.observedGeneration === generation);
    const progressing = cond(first, 'Progressing');
    if (progressing.status === 'True') {
      expect(progressing.reason).toBe('RollingOut');
      expect(first.at).toBeGreaterThanOrEqual(59_000);
    } else {
      expect(progressing.reason).toBe('RolloutComplete');
      expect(cond(first, 'Available')).toMatchObject({ status: 'True', observedGeneration: generation });
      expect(first.status.readyReplicas).toBe(4);
    }
    // What Flux's health check (kstatus) made of each version: in progress until the report
    // of the new generation with every pod available, then current.
    const verdicts = await kstatus(seen.map((v) => v.object));
    const done = seen.map(
      (v) =>
        v.status?.observedGeneration === generation &&
        cond(v, 'Available')?.status === 'True' &&
        v.status.readyReplicas === 4,
    );
    expect(done.at(-1)).toBe(true);
    expect(verdicts.map((k) => k.status)).toEqual(done.map((d) => (d ? 'Current' : 'InProgress')));
    await patchMc(ns.name, 'memcached-sample', { size: 2 });
    await waitAvailable(ns.name, 'memcached-sample', 2);
  });

  it('restores hand edits of replicas and image on the Deployment', async () => {
    await apps.patchNamespacedDeployment(
      {
        namespace: ns.name,
        name: 'memcached-sample',
        body: [
          { op: 'replace', path: '/spec/replicas', value: 4 },
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'memcached:1.6.0-alpine' },
        ],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const d = await waitFor('Deployment restored', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'memcached-sample' });
      return d.spec!.replicas === 2 && d.spec!.template.spec!.containers[0].image === 'memcached:1.6.39-alpine'
        ? d
        : undefined;
    });
    // More than the replica count drifted: restored by applying the whole Deployment, whose
    // Apply entry takes the edited fields back from the editor (with force).
    const mine = ownedBy(d, FIELD_MANAGER);
    expect(mine.Apply?.['f:spec']).toHaveProperty('f:replicas');
    expect(mine.Apply?.['f:spec']?.['f:template']?.['f:spec']?.['f:containers']).toHaveProperty([
      'k:{"name":"memcached"}',
      'f:image',
    ]);
    // Once the rollout has ended, the status names exactly the pods that are left, at once: the
    // pods of the hand-made scale-up go after the rollout is complete, and holding that change
    // as "progress" for the 60 s interval would leave them listed in status.nodes.
    await waitAvailable(ns.name, 'memcached-sample', 2, 20_000);
  });

  it('never modifies a Deployment it does not own, and reports the conflict', async () => {
    const foreign = renderMemcachedOperand({
      owner: { apiVersion: `${GROUP}/${VERSION}`, name: 'taken', namespace: ns.name, uid: 'x' },
      spec: { size: 1, containerPort: PORT_DEFAULT },
      image: 'memcached:1.6.39-alpine',
    }).deployment;
    delete foreign.metadata.ownerReferences;
    foreign.metadata.labels = { owner: 'someone-else' };
    foreign.spec.template.metadata.labels = { ...foreign.spec.template.metadata.labels, owner: 'someone-else' };
    await apps.createNamespacedDeployment({ namespace: ns.name, body: foreign });
    const before = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'taken' });
    await createMc(ns.name, 'taken', { size: 3 });
    const o = await waitFor('conflict reported', async () => {
      const x = await mc(ns.name, 'taken');
      return cond(x, 'Degraded')?.status === 'True' ? x : undefined;
    });
    expect(cond(o, 'Degraded')).toMatchObject({
      reason: 'ResourceConflict',
      message: expect.stringContaining(`Deployment ${ns.name}/taken exists and is not owned`),
    });
    expect(cond(o, 'Available').status).toBe('False');
    // Flux's health check fails it at once (Stalled), instead of waiting out its timeout.
    expect(cond(o, 'Stalled')).toMatchObject({ status: 'True', reason: 'ResourceConflict' });
    expect(await kstatus([o])).toEqual([
      { status: 'Failed', message: expect.stringContaining(`Deployment ${ns.name}/taken exists and is not owned`) },
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'taken' });
    // The Deployment controller keeps writing its status; its spec and metadata are untouched.
    expect(after.metadata!.generation).toBe(before.metadata!.generation);
    expect(after.metadata!.labels).toEqual(before.metadata!.labels);
    expect(after.metadata!.ownerReferences).toBeUndefined();
    expect(after.metadata!.managedFields!.map((m) => m.manager)).not.toContain('memcached-operator');
    // Removing the foreign Deployment resolves the conflict: the operator takes over.
    await apps.deleteNamespacedDeployment({ namespace: ns.name, name: 'taken', propagationPolicy: 'Background' });
    await waitAvailable(ns.name, 'taken', 3);
  });

  it('tells Flux (kstatus) a new object is in progress until its pods are available, then current', async () => {
    // A quota that allows no pods: the Deployment is created but its pod is refused, so the
    // rollout stays under way (until the Deployment's 10 min progress deadline).
    await createQuota(ns2.name, 'no-pods', { pods: '0' });
    try {
      await createMc(ns2.name, 'pending-pods', { size: 1 });
      const o = await waitFor('the first status', async () => {
        const x = await mc(ns2.name, 'pending-pods');
        return x.status?.observedGeneration === x.metadata.generation ? x : undefined;
      });
      expect(cond(o, 'Available')).toMatchObject({ status: 'False' });
      expect(cond(o, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RollingOut' });
      expect(cond(o, 'Stalled')).toBeUndefined();
      // Without Reconciling, kstatus would call this object Current: its observedGeneration
      // is current and it knows no other condition of ours.
      expect(await kstatus([o])).toEqual([{ status: 'InProgress', message: cond(o, 'Reconciling').message }]);
    } finally {
      await core.deleteNamespacedResourceQuota({ namespace: ns2.name, name: 'no-pods' });
    }
    // The ReplicaSet controller retries the pod once the quota is gone.
    const done = await waitAvailable(ns2.name, 'pending-pods', 1);
    expect(cond(done, 'Reconciling')).toBeUndefined();
    expect(await kstatus([done])).toEqual([{ status: 'Current', message: 'Resource is current' }]);
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'memcacheds',
      namespace: ns2.name,
      name: 'pending-pods',
    });
  });

  it('surfaces an object it cannot realize as a condition, never as Available, and keeps running', async () => {
    // A quota that allows no Service: the Deployment is created and its pod becomes ready, the
    // Service is refused (403 exceeded quota). Part of the operand is missing (issue 12).
    await createQuota(ns2.name, 'no-services', { services: '0' });
    try {
      await createMc(ns2.name, 'no-service', { size: 1 });
      const o = await waitFor('ApplyFailed reported', async () => {
        const x = await mc(ns2.name, 'no-service');
        return cond(x, 'Degraded')?.status === 'True' ? x : undefined;
      });
      expect(cond(o, 'Degraded')).toMatchObject({ reason: 'ApplyFailed', message: expect.stringContaining('Service') });
      // The pod becomes ready and the status says so; still never Available.
      const ready = await waitFor(
        'pod ready shown in status',
        async () => {
          const x = await mc(ns2.name, 'no-service');
          return x.status?.readyReplicas === 1 ? x : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(cond(ready, 'Available')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
      const row = execFileSync(
        'kubectl',
        [
          '--kubeconfig',
          process.env.TEST_KUBECONFIG!,
          '-n',
          ns2.name,
          'get',
          'memcacheds',
          'no-service',
          '--no-headers',
        ],
        { encoding: 'utf8' },
      );
      expect(row.trim().split(/\s+/)[3]).toBe('False'); // NAME SIZE READY AVAILABLE AGE
      expect(operators[0].proc.exitCode).toBeNull();
      // Logged once (the transition), not per reconcile: the object, the HTTP status, the
      // server's reason and message, and none of the client's dump.
      const failures = operators[0].lines.filter((l) => l.level === 'error' && l.name === 'no-service');
      expect(failures).toEqual([
        expect.objectContaining({
          msg: expect.stringMatching(/^apply failed/),
          namespace: ns2.name,
          name: 'no-service',
          kind: 'Service',
          httpStatus: 403,
          statusReason: 'Forbidden',
          error: expect.stringMatching(/^services "no-service" is forbidden: exceeded quota: no-services/),
        }),
      ]);
      expect(JSON.stringify(operators[0].lines)).not.toMatch(/HTTP-Code|Unknown API Status Code/);
    } finally {
      await core.deleteNamespacedResourceQuota({ namespace: ns2.name, name: 'no-services' });
    }
    // Without the quota the next change completes the operand.
    await patchMc(ns2.name, 'no-service', { size: 2 });
    await waitAvailable(ns2.name, 'no-service', 2);
    await core.readNamespacedService({ namespace: ns2.name, name: 'no-service' });
  });

  it('rejects invalid objects through the CRD schema before the operator sees them', async () => {
    await expect(createMc(ns.name, 'too-big', { size: 9 })).rejects.toMatchObject({ code: 422 });
  });

  it('removes the operand through garbage collection when the object is deleted', async () => {
    await createMc(ns2.name, 'short-lived', { size: 1 });
    await waitAvailable(ns2.name, 'short-lived', 1);
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns2.name,
      plural: 'memcacheds',
      name: 'short-lived',
    });
    await waitFor(
      'operand garbage-collected',
      async () => {
        const [d, s] = await Promise.all([
          apps.listNamespacedDeployment({ namespace: ns2.name, fieldSelector: 'metadata.name=short-lived' }),
          core.listNamespacedService({ namespace: ns2.name, fieldSelector: 'metadata.name=short-lived' }),
        ]);
        return d.items.length === 0 && s.items.length === 0;
      },
      { timeoutMs: 60_000 },
    );
  });

  it('writes nothing while nothing changes', async () => {
    const before = await Promise.all([
      mc(ns.name, 'memcached-sample'),
      apps.readNamespacedDeployment({ namespace: ns.name, name: 'memcached-sample' }),
    ]);
    await new Promise((r) => setTimeout(r, 3000));
    const after = await Promise.all([
      mc(ns.name, 'memcached-sample'),
      apps.readNamespacedDeployment({ namespace: ns.name, name: 'memcached-sample' }),
    ]);
    expect(after[0].metadata.resourceVersion).toBe(before[0].metadata.resourceVersion);
    expect(after[1].metadata!.resourceVersion).toBe(before[1].metadata!.resourceVersion);
  });

  it('serves probes and controller-runtime metrics', async () => {
    const op = operators[0];
    const health = await fetch(`http://127.0.0.1:${await op.healthPort()}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${await op.healthPort()}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${await op.metricsPort()}/metrics`)).text();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{controller="memcached",result="success"\} [1-9]/);
    expect(metrics).toMatch(/workqueue_adds_total\{name="memcached"/);
    expect(metrics).toMatch(/leader_election_master_status\{name="memcached-operator.cache.example.com"\} 1/);
  });

  it('ran under its own ServiceAccount without a single 403', async () => {
    // (the quota that refuses a Service on purpose answers 403 too; that is not RBAC)
    const lines = operators[0]
      .text()
      .split('\n')
      .filter((l) => !l.includes('exceeded quota'));
    expect(lines.join('\n')).not.toMatch(/forbidden|\b403\b/i);
  });

  it('runs from the bundle alone, as the image ships it (no node_modules)', async () => {
    const op = startOperator({
      kubeconfig: saKubeconfig,
      podNamespace: OP_NS,
      watchNamespace: ns2.name,
      isolated: true,
      extraArgs: ['--leader-elect=false'],
    });
    operators.push(op);
    await op.waitForLog('workers started', (l) => l.msg === 'caches synced, starting workers', 60_000);
    expect((await fetch(`http://127.0.0.1:${await op.healthPort()}/readyz`)).status).toBe(200);
    expect(await op.stop('SIGTERM')).toBe(0);
  });

  it('hands over leadership: a second operator waits, takes over on SIGTERM of the first, and carries on', async () => {
    const second = startOperator({
      kubeconfig: saKubeconfig,
      podNamespace: OP_NS,
      watchNamespace: `${ns.name},${ns2.name}`,
    });
    operators.push(second);
    await second.waitForLog('attempting to acquire', (l) => l.msg === 'attempting to acquire leader lease');
    await new Promise((r) => setTimeout(r, 3000));
    expect(second.lines.some((l) => l.msg === 'successfully acquired lease')).toBe(false);
    // The standby is ready (its caches are synced) but not leading.
    expect((await fetch(`http://127.0.0.1:${await second.healthPort()}/readyz`)).status).toBe(200);

    const first = operators[0];
    const code = await first.stop('SIGTERM');
    expect(code).toBe(0);
    expect(first.text()).toContain('released lease');
    const t0 = Date.now();
    await second.waitForLog('takeover', (l) => l.msg === 'successfully acquired lease', 20_000);
    const takeoverMs = Date.now() - t0;
    expect(takeoverMs).toBeLessThan(10_000); // released, so no 15 s lease expiry wait
    const lease = await coordination.readNamespacedLease({
      namespace: OP_NS,
      name: 'memcached-operator.cache.example.com',
    });
    expect(lease.spec!.holderIdentity).toContain(second.lines.find((l) => l.msg === 'starting')!.identity);

    await patchMc(ns.name, 'memcached-sample', { size: 3 });
    await waitAvailable(ns.name, 'memcached-sample', 3);
  });

  it('takes over from a killed leader once its lease expires (15 s), and carries on', async () => {
    const leader = operators.find(
      (o) => o.proc.exitCode === null && o.lines.some((l) => l.msg === 'successfully acquired lease'),
    )!;
    const standby = startOperator({
      kubeconfig: saKubeconfig,
      podNamespace: OP_NS,
      watchNamespace: `${ns.name},${ns2.name}`,
    });
    operators.push(standby);
    await standby.waitForLog('campaigning', (l) => l.msg === 'attempting to acquire leader lease');
    await leader.stop('SIGKILL'); // no release: the lease must expire
    const t0 = Date.now();
    await standby.waitForLog('takeover', (l) => l.msg === 'successfully acquired lease', 40_000);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThan(5_000);
    expect(waited).toBeLessThan(30_000);
    await patchMc(ns.name, 'memcached-sample', { size: 1 });
    await waitAvailable(ns.name, 'memcached-sample', 1);
  });
});
