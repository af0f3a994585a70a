// The operator against a control plane of its own, for what would disturb other test files:
// a kube-apiserver restart in the middle of a run, and 200 Memcached objects at once.
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../cluster/controlplane';
import { installOperatorPrerequisites } from '../../cluster/operator-manifests';
import { dumpLogsOnFailure, OperatorProcess, startOperator, stopAll } from '../../cluster/operator-process';
import { waitFor } from '../support/wait';
import { DEFAULT_OPERATOR_NAMESPACE, MEMCACHED_VERSION, memcachedGroup } from '../../constructs/memcached-api';

const GROUP = memcachedGroup();
const VERSION = MEMCACHED_VERSION;
const OP_NS = DEFAULT_OPERATOR_NAMESPACE;

let cp: ControlPlane;
let custom: k8s.CustomObjectsApi;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
const operators: OperatorProcess[] = [];
const watchers: { stop(): void }[] = [];

const createMc = (namespace: string, name: string, size: number) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'memcacheds',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Memcached', metadata: { name }, spec: { size } },
  });

/** Names of the objects in `namespace` that are Available with readyReplicas == size. */
async function available(namespace: string): Promise<Set<string>> {
  const list = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'memcacheds',
  })) as any;
  return new Set(
    list.items
      .filter(
        (o: any) =>
          (o.status?.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True') &&
          o.status.readyReplicas === o.spec.size &&
          o.status.observedGeneration === o.metadata.generation,
      )
      .map((o: any) => o.metadata.name),
  );
}

beforeAll(async () => {
  // 5 fake nodes of 110 pods: room for the 300 pods of the 200-object test and the 200 of the restart test
  cp = await startControlPlane({ tier: 'workload', nodes: 5 });
  process.stderr.write(`recovery control plane: ${cp.kubeconfigPath}\n`);
  const kc = cp.kubeConfig();
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
  await installOperatorPrerequisites(cp.kubeconfigPath);
  for (const ns of ['recovery', 'scale', 'restart']) await core.createNamespace({ body: { metadata: { name: ns } } });
  const sa = await cp.serviceAccountKubeconfig(OP_NS, 'memcached-operator', { create: false });
  // Without leader election here: with it, an API outage longer than the renew deadline (10 s)
  // makes the operator exit on purpose (another replica may be leading) and the kubelet
  // restarts it; this file tests that informers and the queue survive an outage in-process.
  const op = startOperator({ kubeconfig: sa.path, podNamespace: OP_NS, extraArgs: ['--leader-elect=false'] });
  operators.push(op);
  await op.waitForLog('workers started', (l) => l.msg === 'caches synced, starting workers', 60_000);
});

afterEach(() => dumpLogsOnFailure(operators, expect.getState(), 80));

afterAll(async () => {
  for (const w of watchers) w.stop();
  await stopAll(operators);
  await cp?.stop();
});

describe('operator resilience', () => {
  it('recovers from a kube-apiserver restart and converges on what changed meanwhile', async () => {
    await createMc('recovery', 'before', 2);
    await waitFor('before available', async () => ((await available('recovery')).has('before') ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    await cp.restartApiServer();
    // Changes right after the restart: a new object and a resize.
    await createMc('recovery', 'after', 1);
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: 'recovery',
        plural: 'memcacheds',
        name: 'before',
        body: { spec: { size: 3 } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor(
      'both converged after the restart',
      async () => {
        const a = await available('recovery');
        if (!a.has('before') || !a.has('after')) return undefined;
        const d = await apps.readNamespacedDeployment({ namespace: 'recovery', name: 'before' });
        return d.spec!.replicas === 3 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(operators[0].proc.exitCode).toBeNull();
    // The informers noticed and re-established their watches (restart reasons are logged).
    const metrics = await (await fetch(`http://127.0.0.1:${await operators[0].metricsPort()}/metrics`)).text();
    expect(metrics).toMatch(/informer_watch_restarts_total\{[^}]*\} [1-9]/);
  });

  it('is not ready while its CRD is deleted, and reconciles again within seconds of its return', async () => {
    const op = operators[0];
    const ext = cp.kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    const crdName = `memcacheds.${GROUP}`;
    const crd = await ext.readCustomResourceDefinition({ name: crdName });
    const readyz = async () => {
      const r = await fetch(`http://127.0.0.1:${await op.healthPort()}/readyz?verbose`);
      return { status: r.status, body: await r.text() };
    };
    expect((await readyz()).status).toBe(200);
    await ext.deleteCustomResourceDefinition({ name: crdName });
    const notReady = await waitFor(
      'readyz failing',
      async () => {
        const r = await readyz();
        return r.status === 500 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(notReady.body).toContain(`[-]watched-resources failed: not served by the API server: ${crdName}`);

    await waitFor(
      'CRD gone',
      async () =>
        ext.readCustomResourceDefinition({ name: crdName }).then(
          () => undefined,
          (e) => (e.code === 404 ? true : undefined),
        ),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await ext.createCustomResourceDefinition({
      body: {
        apiVersion: crd.apiVersion,
        kind: crd.kind,
        metadata: { name: crdName, labels: crd.metadata!.labels, annotations: crd.metadata!.annotations },
        spec: crd.spec,
      },
    });
    await waitFor(
      'CRD established',
      async () => {
        const c = await ext.readCustomResourceDefinition({ name: crdName });
        return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
      },
      { intervalMs: 100 },
    );
    const back = Date.now();
    await waitFor(
      'Memcached create accepted',
      async () => ((await createMc('recovery', 'returned', 1)) ? true : undefined),
      { intervalMs: 200 },
    );
    await waitFor(
      'operand created after the CRD returned',
      async () =>
        apps.readNamespacedDeployment({ namespace: 'recovery', name: 'returned' }).then(
          () => true,
          () => undefined,
        ),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const seconds = (Date.now() - back) / 1000;
    process.stdout.write(`reconciling resumed ${seconds.toFixed(1)} s after the CRD was re-established\n`);
    expect(seconds).toBeLessThan(8);
    expect((await readyz()).status).toBe(200);
  });

  it('converges 200 objects created at once, with no false conflict; a real foreign Deployment is still reported', async () => {
    const n = 200;
    const degraded = await watchDegraded('scale');
    // One name is taken by somebody else's Deployment: that one, and only that one, is a conflict.
    await apps.createNamespacedDeployment({ namespace: 'scale', body: foreignDeployment('mc-foreign') });
    await createMc('scale', 'mc-foreign', 1);
    const started = Date.now();
    const names = Array.from({ length: n }, (_, i) => `mc-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < n; i += 20)
      await Promise.all(names.slice(i, i + 20).map((name, j) => createMc('scale', name, 1 + ((i + j) % 2))));
    let progress = '';
    const done = await waitFor(
      `${n} objects Available`,
      async () => {
        const a = await available('scale');
        const [d, p] = await Promise.all([
          apps.listNamespacedDeployment({ namespace: 'scale' }),
          core.listNamespacedPod({ namespace: 'scale' }),
        ]);
        const running = p.items.filter((x) => x.status?.phase === 'Running').length;
        const now = `${a.size} available, ${d.items.length} deployments, ${p.items.length} pods (${running} running)`;
        if (now !== progress) process.stderr.write(`[200] ${((Date.now() - started) / 1000).toFixed(1)} s: ${now}\n`);
        progress = now;
        return a.size === n ? a : undefined;
      },
      { timeoutMs: 170_000, intervalMs: 250 },
    );
    expect(names.every((x) => done.has(x))).toBe(true);
    const deployments = await apps.listNamespacedDeployment({ namespace: 'scale' });
    expect(deployments.items).toHaveLength(n + 1);
    for (const d of deployments.items.filter((x) => x.metadata!.name !== 'mc-foreign'))
      expect(d.spec!.replicas).toBe(1 + (names.indexOf(d.metadata!.name!) % 2));
    process.stdout.write(`200 Memcached objects converged in ${Date.now() - started} ms\n`);
    degraded.stop();
    expect([...degraded.seen]).toEqual(['mc-foreign']);
    expect(await conflictEvents('scale')).toEqual(['mc-foreign']);
  }, 240_000);

  it('survives a SIGKILL in the middle of 200 creates: after a restart, no false conflict', async () => {
    const n = 200;
    const degraded = await watchDegraded('restart');
    const names = Array.from({ length: n }, (_, i) => `r-${String(i).padStart(3, '0')}`);
    let killed = false;
    for (let i = 0; i < n; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((name) => createMc('restart', name, 1)));
      // Kill the operator once it is creating operands, while objects keep coming.
      if (!killed && i >= 60) {
        await waitFor(
          'operator creating operands',
          async () =>
            (await apps.listNamespacedDeployment({ namespace: 'restart' })).items.length >= 20 ? true : undefined,
          { timeoutMs: 60_000, intervalMs: 100 },
        );
        await operators[0].stop('SIGKILL');
        killed = true;
      }
    }
    const sa = await cp.serviceAccountKubeconfig(OP_NS, 'memcached-operator', { create: false });
    const op = startOperator({ kubeconfig: sa.path, podNamespace: OP_NS, extraArgs: ['--leader-elect=false'] });
    operators.push(op);
    const started = Date.now();
    let progress = '';
    await waitFor(
      `${n} objects Available after the restart`,
      async () => {
        const a = await available('restart');
        const [d, p] = await Promise.all([
          apps.listNamespacedDeployment({ namespace: 'restart' }),
          core.listNamespacedPod({ namespace: 'restart' }),
        ]);
        const now = `${a.size} available, ${d.items.length} deployments, ${p.items.filter((x) => x.status?.phase === 'Running').length}/${p.items.length} pods running`;
        if (now !== progress)
          process.stderr.write(`[restart] ${((Date.now() - started) / 1000).toFixed(1)} s: ${now}\n`);
        progress = now;
        return a.size === n ? true : undefined;
      },
      { timeoutMs: 170_000, intervalMs: 500 },
    );
    degraded.stop();
    expect([...degraded.seen]).toEqual([]);
    expect(await conflictEvents('restart')).toEqual([]);
    expect(op.lines.filter((l) => l.msg === 'created operand').length).toBeGreaterThan(0); // the restarted operator did part of the work
  }, 240_000);
});

/** A Deployment of `name` that no Memcached controls. */
function foreignDeployment(name: string): k8s.V1Deployment {
  const labels = { app: `foreign-${name}` };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'memcached:1.6.39-alpine' }] } },
    },
  };
}

/** Names of the objects in `namespace` with a ResourceConflict Warning event. */
async function conflictEvents(namespace: string): Promise<string[]> {
  const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'reason=ResourceConflict' });
  return [...new Set(events.items.map((e) => e.involvedObject.name!))].sort();
}

/** Watches the Memcached objects of `namespace` and records every name ever seen with Degraded=True. */
async function watchDegraded(namespace: string): Promise<{ seen: Set<string>; stop(): void }> {
  const seen = new Set<string>();
  let stopped = false;
  let req: AbortController | undefined;
  const kc = cp.kubeConfig();
  const start = async (): Promise<void> => {
    if (stopped) return;
    req = await new k8s.Watch(kc).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/memcacheds`,
      {},
      (_type, o: any) => {
        if ((o.status?.conditions ?? []).some((c: any) => c.type === 'Degraded' && c.status === 'True'))
          seen.add(o.metadata.name);
      },
      () => void start().catch(() => undefined), // client-node ends idle watches; keep watching
    );
  };
  await start();
  const watcher = { seen, stop: () => ((stopped = true), req?.abort()) };
  watchers.push(watcher);
  return watcher;
}
