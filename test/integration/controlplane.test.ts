// Smoke test of the test control plane itself (cluster/, docs/test-cluster.md).
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../cluster/controlplane';
import {
  createTestNamespace,
  kubeConfig,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  sharedCluster,
  type TestNamespace,
} from '../support/shared';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const status = (err: unknown) => (err as { code?: number }).code;

function isRunningReady(pod: k8s.V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    !pod.metadata?.deletionTimestamp &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

describe('shared workload-tier control plane', () => {
  let ns: TestNamespace;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  beforeAll(async () => {
    ns = await createTestNamespace('smoke');
    const kc = kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
  });

  afterAll(async () => {
    await ns?.delete();
  });

  test('apiserver is ready and reports the pinned version', async () => {
    const cluster = sharedCluster();
    expect((await cluster.get('/readyz')).status).toBe(200);
    const version = JSON.parse((await cluster.get('/version')).body) as { gitVersion: string };
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    const nodes = await core.listNode();
    expect(nodes.items.length).toBeGreaterThanOrEqual(1);
  });

  test('a Deployment in a restricted namespace gets Running pods on kwok nodes, and a deleted pod is replaced', async () => {
    const labels = { app: 'smoke' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'smoke' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              securityContext: restrictedPodSecurityContext,
              containers: [
                { name: 'app', image: 'registry.invalid/app:1', securityContext: restrictedContainerSecurityContext },
              ],
            },
          },
        },
      },
    });
    const running = await waitFor(
      '2 Running pods',
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=smoke' });
        const ok = pods.items.filter(isRunningReady);
        return ok.length === 2 && ok;
      },
      { timeoutMs: 60_000 },
    );
    const nodeNames = (process.env.TEST_CLUSTER_NODES ?? '').split(',');
    for (const pod of running) expect(nodeNames).toContain(pod.spec?.nodeName);

    const victim = running[0].metadata!.name!;
    await core.deleteNamespacedPod({ namespace: ns.name, name: victim });
    await waitFor(
      'a replacement pod',
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=smoke' });
        const ok = pods.items.filter(isRunningReady);
        return ok.length === 2 && ok.every((p) => p.metadata?.name !== victim);
      },
      { timeoutMs: 60_000 },
    );

    const dep = await waitFor('Deployment available', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'smoke' });
      return d.status?.availableReplicas === 2 && d;
    });
    expect(dep.status?.readyReplicas).toBe(2);
  });

  test('PodSecurity rejects a non-compliant pod in a restricted namespace', async () => {
    const create = core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'privileged' },
        spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', securityContext: { privileged: true } }] },
      },
    });
    await expect(create).rejects.toMatchObject({ code: 403 });
    await create.catch((err: { body?: string }) => {
      expect((JSON.parse(String(err.body)) as { message: string }).message).toMatch(
        /violates PodSecurity "restricted:latest"/,
      );
    });
  });

  test('RBAC: a user without rights gets 403', async () => {
    const { kubeConfig: kc } = await sharedCluster().userKubeconfig('nobody', ['team-without-rights']);
    const err = await kc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedPod({ namespace: ns.name })
      .catch((e: unknown) => e);
    expect(status(err)).toBe(403);
  });

  test('a ServiceAccount token kubeconfig authenticates and is authorized by RBAC', async () => {
    const rbac = kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns.name,
      body: {
        metadata: { name: 'pod-reader' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns.name,
      body: {
        metadata: { name: 'reader-pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns.name }],
      },
    });
    const { kubeConfig: kc } = await sharedCluster().serviceAccountKubeconfig(ns.name, 'reader');
    const saCore = kc.makeApiClient(k8s.CoreV1Api);
    const pods = await saCore.listNamespacedPod({ namespace: ns.name });
    expect(Array.isArray(pods.items)).toBe(true);
    const forbidden = await saCore.listNamespacedSecret({ namespace: ns.name }).catch((e: unknown) => e);
    expect(status(forbidden)).toBe(403);
  });
});

describe('own api-tier control plane', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane({ tier: 'api' });
  });

  afterAll(async () => {
    await cp?.stop();
  });

  test('serves metrics and survives an apiserver restart with its data', async () => {
    const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'before-restart' } } });
    expect(await cp.apiserverMetrics()).toMatch(/^apiserver_request_total\{/m);
    await cp.restartApiServer();
    const ns = await cp.kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespace({ name: 'before-restart' });
    expect(ns.metadata?.name).toBe('before-restart');
  });
});
