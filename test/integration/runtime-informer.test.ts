// operator/runtime/cache/ (informer, reflector, store) against a real kube-apiserver
// (cluster/): core and custom resources, namespaces, selectors, owner index, and recovery
// from an apiserver restart.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { startControlPlane, type ControlPlane } from '../../cluster/controlplane';
import { createTestNamespace, kubeConfig, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';
import { Informer, type InformerOptions } from '../../operator/runtime/cache/informer';
import type { WatchRestartReason } from '../../operator/runtime/cache/reflector';
import { controllerUidIndex } from '../../operator/runtime/cache/store';
import type { KubeObject } from '../../operator/runtime/object';

jest.setTimeout(120_000);

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };

/** Records handler calls as strings like "add ns/name". */
function recorder<T extends KubeObject>(informer: Informer<T>) {
  const events: string[] = [];
  const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  informer.addEventHandler({
    onAdd: (o) => events.push(`add ${key(o)}`),
    onUpdate: (old, o) => {
      if (old.metadata.resourceVersion !== o.metadata.resourceVersion) events.push(`update ${key(o)}`);
    },
    onDelete: (o) => events.push(`delete ${key(o)}`),
  });
  return events;
}

const running: Informer<KubeObject>[] = [];
function informer<T extends KubeObject>(
  options: Omit<InformerOptions, 'kubeConfig'> & { kubeConfig?: k8s.KubeConfig },
): Informer<T> {
  const inf = new Informer<T>({ kubeConfig: kubeConfig(), ...options });
  running.push(inf as unknown as Informer<KubeObject>);
  return inf;
}

describe('Informer on the shared control plane', () => {
  let ns1: TestNamespace;
  let ns2: TestNamespace;
  let core: k8s.CoreV1Api;
  const runLabel = `rt-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    [ns1, ns2] = await Promise.all([createTestNamespace('rt-informer'), createTestNamespace('rt-informer')]);
    core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  });

  afterAll(async () => {
    await Promise.all(running.splice(0).map((i) => i.stop()));
    await Promise.all([ns1?.delete(), ns2?.delete()]);
  });

  const createCm = (
    namespace: string,
    name: string,
    labels: Record<string, string> = {},
    extra: Partial<k8s.V1ObjectMeta> = {},
  ) => core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels, ...extra }, data: { v: '1' } } });

  test('lists (paged) into the cache and follows creates, updates and deletes', async () => {
    await createCm(ns1.name, 'a');
    await createCm(ns1.name, 'b');
    await createCm(ns1.name, 'c');
    const inf = informer<ConfigMap>({ resource: CONFIGMAPS, namespaces: [ns1.name], pageSize: 2 });
    const events = recorder(inf);
    inf.start();
    expect(await inf.waitForSync()).toBe(true);
    // kube-root-ca.crt is created in every namespace as well
    expect(inf.list(ns1.name).map((o) => o.metadata.name)).toEqual(
      expect.arrayContaining(['a', 'b', 'c', 'kube-root-ca.crt']),
    );
    const a = inf.get(ns1.name, 'a')!;
    expect(a).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { v: '1' } });
    expect(typeof a.metadata.creationTimestamp).toBe('string'); // plain JSON, not Date

    await createCm(ns1.name, 'd');
    await core.replaceNamespacedConfigMap({
      namespace: ns1.name,
      name: 'a',
      body: { metadata: { name: 'a', resourceVersion: a.metadata.resourceVersion }, data: { v: '2' } },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns1.name, name: 'b' });
    const ns = ns1.name;
    await waitFor('watch events', async () =>
      [`add ${ns}/d`, `update ${ns}/a`, `delete ${ns}/b`].every((e) => events.includes(e)),
    );
    expect(inf.get(ns, 'a')?.data).toEqual({ v: '2' });
    expect(inf.get(ns, 'b')).toBeUndefined();
    expect(inf.get(ns, 'd')).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
  });

  test('watches several namespaces, or all of them, filtered by a label selector', async () => {
    await createCm(ns1.name, 'sel-1', { run: runLabel });
    await createCm(ns2.name, 'sel-2', { run: runLabel });
    await createCm(ns2.name, 'unlabelled');
    const perNs = informer<ConfigMap>({
      resource: CONFIGMAPS,
      namespaces: [ns1.name, ns2.name],
      labelSelector: `run=${runLabel}`,
    });
    const all = informer<ConfigMap>({ resource: CONFIGMAPS, labelSelector: `run=${runLabel}` });
    const allEvents = recorder(all);
    perNs.start();
    all.start();
    await Promise.all([perNs.waitForSync(), all.waitForSync()]);
    for (const inf of [perNs, all]) {
      expect(
        inf
          .list()
          .map((o) => `${o.metadata.namespace}/${o.metadata.name}`)
          .sort(),
      ).toEqual([`${ns1.name}/sel-1`, `${ns2.name}/sel-2`].sort());
      expect(inf.list(ns2.name)).toHaveLength(1);
    }
    await createCm(ns2.name, 'sel-3', { run: runLabel });
    await waitFor('cluster-wide add', async () => allEvents.includes(`add ${ns2.name}/sel-3`));
    await waitFor('per-namespace add', async () => perNs.get(ns2.name, 'sel-3') !== undefined);
  });

  test('metadataOnly: lists and watches metadata only (PartialObjectMetadata), labels and deletion included', async () => {
    const label = { run: `${runLabel}-meta` };
    await createCm(ns1.name, 'meta-1', label, { annotations: { note: 'x'.repeat(100) } });
    const inf = informer<KubeObject>({
      resource: CONFIGMAPS,
      namespaces: [ns1.name],
      labelSelector: `run=${label.run}`,
      metadataOnly: true,
    });
    const events = recorder(inf);
    inf.start();
    expect(await inf.waitForSync()).toBe(true);
    const listed = inf.get(ns1.name, 'meta-1') as KubeObject & { data?: unknown };
    expect(listed).toMatchObject({
      apiVersion: 'meta.k8s.io/v1',
      kind: 'PartialObjectMetadata',
      metadata: { name: 'meta-1', namespace: ns1.name, labels: label },
    });
    expect(listed.data).toBeUndefined(); // the server sent no data
    expect((listed.metadata as unknown as Record<string, unknown>).managedFields).toBeUndefined(); // the default transform still applies

    await createCm(ns1.name, 'meta-2', label);
    await core.patchNamespacedConfigMap(
      { namespace: ns1.name, name: 'meta-1', body: { metadata: { labels: { ...label, extra: 'yes' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ namespace: ns1.name, name: 'meta-2' });
    const ns = ns1.name;
    await waitFor('metadata-only watch events', async () =>
      [`add ${ns}/meta-2`, `update ${ns}/meta-1`, `delete ${ns}/meta-2`].every((e) => events.includes(e)),
    );
    const watched = inf.get(ns, 'meta-1') as KubeObject & { data?: unknown };
    expect(watched).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { labels: { extra: 'yes' } } });
    expect(watched.data).toBeUndefined();
  });

  test('indexes owned objects by their controller owner uid', async () => {
    const owner = await createCm(ns1.name, 'owner');
    const ownerRef = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'owner',
      uid: owner.metadata!.uid!,
      controller: true,
    };
    await createCm(ns1.name, 'owned-1', {}, { ownerReferences: [ownerRef] });
    const inf = informer<ConfigMap>({ resource: CONFIGMAPS, namespaces: [ns1.name] });
    inf.addIndex('owner', controllerUidIndex);
    inf.start();
    await inf.waitForSync();
    expect(inf.byIndex('owner', owner.metadata!.uid!).map((o) => o.metadata.name)).toEqual(['owned-1']);
    await createCm(ns1.name, 'owned-2', {}, { ownerReferences: [ownerRef] });
    await waitFor('owned-2 indexed', async () => inf.byIndex('owner', owner.metadata!.uid!).length === 2);
  });

  // Slow (~40 s) on purpose: client-node's Watch gave up on a watch after 30 s without data and
  // the informer re-opened it; the runtime's own watch keeps it for the server's timeoutSeconds.
  test('keeps an idle watch open past 30 s: one watch request, no restart', async () => {
    const restarts: WatchRestartReason[] = [];
    const inf = informer<ConfigMap>({
      resource: CONFIGMAPS,
      namespaces: [ns2.name],
      labelSelector: `idle=${runLabel}`,
      metrics: { listed: () => {}, event: () => {}, objects: () => {}, watchRestarted: (r) => restarts.push(r) },
    });
    inf.start();
    await inf.waitForSync();
    await new Promise((r) => setTimeout(r, 40_000));
    expect(restarts).toEqual([]);
    // and it still delivers
    await createCm(ns2.name, 'idle-1', { idle: runLabel });
    await waitFor('event on the long-lived watch', async () => inf.get(ns2.name, 'idle-1') !== undefined);
    expect(restarts).toEqual([]);
  });

  test('works for custom resources', async () => {
    const group = `${runLabel}.example.com`;
    const ext = kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    const crdName = `widgets.${group}`;
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: crdName },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
                },
              },
            },
          ],
        },
      },
    });
    try {
      await waitFor('CRD established', async () => {
        const crd = await ext.readCustomResourceDefinition({ name: crdName });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
      const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
      const create = (name: string, size: number) =>
        custom.createNamespacedCustomObject({
          group,
          version: 'v1',
          namespace: ns1.name,
          plural: 'widgets',
          body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name }, spec: { size } },
        });
      await waitFor('Widget create accepted', async () => !!(await create('w1', 1)));
      const inf = informer<KubeObject & { spec: { size: number } }>({
        resource: { group, version: 'v1', plural: 'widgets', namespaced: true },
        namespaces: [ns1.name],
      });
      inf.start();
      await inf.waitForSync();
      expect(inf.get(ns1.name, 'w1')).toMatchObject({ apiVersion: `${group}/v1`, kind: 'Widget', spec: { size: 1 } });
      await create('w2', 2);
      await waitFor('w2 watched', async () => inf.get(ns1.name, 'w2')?.spec.size === 2);
    } finally {
      await ext.deleteCustomResourceDefinition({ name: crdName });
    }
  });
});

describe('Informer across an apiserver restart', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane({ tier: 'api' });
  });

  afterAll(async () => {
    await cp?.stop();
  });

  // Slow (~35 s): kube-apiserver's graceful shutdown does not end the open watch, so the
  // restart completes only when the harness kills it after its 30 s grace, which drops the
  // connection. The informer then resumes, typically gets 410 Gone from the new apiserver's
  // watch cache, and relists.
  test('keeps watching after kube-apiserver restarts, and catches up on changes', async () => {
    const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'restart' } } });
    await core.createNamespacedConfigMap({ namespace: 'restart', body: { metadata: { name: 'before' } } });
    const restarts: WatchRestartReason[] = [];
    const inf = new Informer<ConfigMap>({
      kubeConfig: cp.kubeConfig(),
      resource: CONFIGMAPS,
      namespaces: ['restart'],
      maxBackoffMs: 1000,
      metrics: { listed: () => {}, event: () => {}, objects: () => {}, watchRestarted: (r) => restarts.push(r) },
    });
    const events = recorder(inf);
    inf.start();
    try {
      await inf.waitForSync();
      expect(inf.get('restart', 'before')).toBeDefined();
      await cp.restartApiServer();
      const fresh = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
      await fresh.createNamespacedConfigMap({ namespace: 'restart', body: { metadata: { name: 'after' } } });
      await fresh.deleteNamespacedConfigMap({ namespace: 'restart', name: 'before' });
      await waitFor(
        'changes after the restart',
        async () => events.includes('add restart/after') && events.includes('delete restart/before'),
        {
          timeoutMs: 60_000,
        },
      );
      expect(restarts.length).toBeGreaterThan(0);
    } finally {
      await inf.stop();
    }
  });
});
