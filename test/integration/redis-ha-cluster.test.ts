// redis-ha on the shared test control plane (workload tier: controller-manager, scheduler,
// kwok nodes): dist/redis-ha.k8s.yaml applied server-side into a namespace that enforces
// Pod Security "restricted", with the Secret the user creates and PersistentVolumes for the
// claims. The pods must be admitted, scheduled onto kwok nodes and Running. (kwok does not
// run containers: the real-process behaviour is redis-ha-failover.test.ts.)
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { createTestNamespace, kubeConfig, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';
import { redisHaManifests } from '../support/redis-manifests';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const policy = kc.makeApiClient(k8s.PolicyV1Api);
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);

/** `kubectl apply --server-side`. */
async function applyServerSide(objects: k8s.KubernetesObject[]) {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects)
    await api.patch(o, undefined, undefined, 'redis-ha-test', true, k8s.PatchStrategy.ServerSideApply);
}

let ns: TestNamespace;
const pvNames: string[] = [];
const objs = redisHaManifests();
const sts = objs.find((o) => o.kind === 'StatefulSet');
const proxy = objs.find((o) => o.kind === 'Deployment');
const secretRef = sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'REDIS_PASSWORD').valueFrom
  .secretKeyRef;

beforeAll(async () => {
  ns = await createTestNamespace('redis-ha', { podSecurity: 'restricted' });
  // What the user does once (docs/redis.md): the Secret with the password.
  await core.createNamespacedSecret({
    namespace: ns.name,
    body: { metadata: { name: secretRef.name }, stringData: { [secretRef.key]: randomBytes(24).toString('hex') } },
  });
  // One PersistentVolume per claim the StatefulSet will make, pre-bound to it.
  const claim = sts.spec.volumeClaimTemplates[0];
  for (let i = 0; i < sts.spec.replicas; i++) {
    const name = `${ns.name}-${claim.metadata.name}-${i}`;
    await core.createPersistentVolume({
      body: {
        metadata: { name },
        spec: {
          capacity: { storage: claim.spec.resources.requests.storage },
          accessModes: claim.spec.accessModes,
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: claim.spec.storageClassName ?? '',
          hostPath: { path: `/tmp/${name}`, type: 'DirectoryOrCreate' },
          claimRef: { namespace: ns.name, name: `${claim.metadata.name}-${sts.metadata.name}-${i}` },
        },
      },
    });
    pvNames.push(name);
  }
}, 60_000);

afterAll(async () => {
  await ns?.delete();
  for (const name of pvNames) await core.deletePersistentVolume({ name }).catch(() => undefined);
}, 60_000);

test('applies server-side into a restricted namespace; every pod is admitted, scheduled and Running', async () => {
  const inNs = objs.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns.name } }));
  await applyServerSide(inNs);

  const expected = sts.spec.replicas + proxy.spec.replicas;
  const pods = await waitFor(
    `${expected} redis-ha pods Running on kwok nodes`,
    async () => {
      const list = (await core.listNamespacedPod({ namespace: ns.name })).items;
      const running = list.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName?.startsWith('kwok-node-'));
      return running.length === expected ? list : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  const names = pods.map((p) => p.metadata!.name!).sort();
  for (let i = 0; i < sts.spec.replicas; i++) expect(names).toContain(`${sts.metadata.name}-${i}`);
  expect(names.filter((n) => n.startsWith(`${proxy.metadata.name}-`))).toHaveLength(proxy.spec.replicas);

  // Every claim is bound to the volume made for it.
  const pvcs = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name })).items;
  expect(pvcs.map((c) => [c.metadata!.name, c.status?.phase])).toEqual(
    Array.from({ length: sts.spec.replicas }, (_, i) => [`data-${sts.metadata.name}-${i}`, 'Bound']),
  );

  // The workloads report their replicas ready (kwok marks containers ready).
  await waitFor(
    'StatefulSet and Deployment ready',
    async () => {
      const s = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: sts.metadata.name });
      const d = await apps.readNamespacedDeployment({ namespace: ns.name, name: proxy.metadata.name });
      return s.status?.readyReplicas === sts.spec.replicas && d.status?.readyReplicas === proxy.spec.replicas;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );

  // The disruption budgets see the pods.
  await waitFor(
    'PDBs observe the pods',
    async () => {
      const p = await policy.readNamespacedPodDisruptionBudget({ namespace: ns.name, name: sts.metadata.name });
      return p.status?.currentHealthy === sts.spec.replicas && p.status?.disruptionsAllowed === 1;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );

  // The Services have endpoints: the headless one publishes each pod's name.
  await waitFor(
    'headless Service endpoints with pod host names',
    async () => {
      const slices = (
        await discovery.listNamespacedEndpointSlice({
          namespace: ns.name,
          labelSelector: `kubernetes.io/service-name=${sts.spec.serviceName}`,
        })
      ).items;
      const hostnames = slices.flatMap((s) => (s.endpoints ?? []).map((e) => e.hostname)).sort();
      return hostnames.length === sts.spec.replicas && hostnames.every((h, i) => h === `${sts.metadata.name}-${i}`);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}, 240_000);
