// Every file in dist/ on the shared workload-tier control plane, applied the way users apply
// it (`kubectl apply --server-side`, cluster/operator-manifests.ts), into namespaces that
// enforce AND warn Pod Security "restricted":
//   - no warning at all on kubectl's stderr (Pod Security prints `Warning: would violate
//     PodSecurity ...` there for Deployments and StatefulSets whose pod template would be
//     rejected; a Pod is rejected outright). A control test proves the check can fail.
//   - the Redis Pod, the Redis Deployment's pod, every StatefulSet replica (redis-sfs and
//     redis-ha, whose claims are bound to PersistentVolumes made here) and the operator's pod
//     are scheduled onto kwok nodes and Running; a deleted Deployment pod is replaced.
//   - every Service with a selector selects pods: the endpointslice controller runs in this
//     control plane, so its EndpointSlices name exactly the pods it selects.
//
// The Redis charts carry metadata.namespace `default` (redis.namespace); each goes into a
// fresh restricted namespace of its own, with the namespace of its namespaced objects
// rewritten (cluster-scoped ones are kept as they are). memcached-operator.k8s.yaml brings its
// own Namespace (memcached-operator-system, labelled restricted by the chart) and is applied
// exactly as it is. That Namespace, the CRD and the operator Deployment are shared with other
// test files and are left in place; applying them again is idempotent.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createTestNamespace, kubeConfig, sharedCluster, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';
import { kubectl, kubectlApplyResult, type KubectlResult } from '../../cluster/operator-manifests';
import { distDir, loadDist } from '../support/dist';
import { PORT_DEFAULT } from '../../constructs/memcached-api';

type Obj = Record<string, any>;

const KUBECONFIG = process.env.TEST_KUBECONFIG!;
const NODES = (process.env.TEST_CLUSTER_NODES ?? '').split(',').filter(Boolean);
const FIELD_MANAGER = 'dist-test';
const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);

// ---------------------------------------------------------------------------------------
// what is in dist/

const FILES = readdirSync(distDir())
  .filter((f) => f.endsWith('.k8s.yaml'))
  .sort();

/** One dist file and where it goes. */
interface Stack {
  file: string;
  /** the objects as they are in dist/ */
  original: Obj[];
  /** the objects as applied (namespace rewritten unless the file brings its Namespace) */
  objects: Obj[];
  /** the namespace its namespaced objects live in */
  namespace: string;
  /** the file's own Namespace object, if it has one (then it is applied unchanged) */
  ownNamespace?: Obj;
  testNamespace?: TestNamespace;
  apply?: KubectlResult;
}

const stacks = new Map<string, Stack>();
const stack = (file: string): Stack => {
  const s = stacks.get(file);
  if (!s) throw new Error(`dist/${file} was not set up (dist/ holds ${FILES.join(', ')})`);
  return s;
};
const find = (objs: Obj[], kind: string, name?: string): Obj => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name));
  if (!o) throw new Error(`no ${kind}${name ? ` ${name}` : ''}`);
  return o;
};

/** Files that define a Namespace or a CRD first: the objects of other files may need them. */
const definesTypesOrNamespace = (objs: Obj[]) =>
  objs.some((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition');

// Is <apiVersion, kind> namespaced? Asked of the API server's discovery (the CRD's kinds too).
const scopeCache = new Map<string, Map<string, boolean>>();
async function isNamespaced(apiVersion: string, kind: string): Promise<boolean> {
  let kinds = scopeCache.get(apiVersion);
  if (!kinds) {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const res = await sharedCluster().get(path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
    const list = JSON.parse(res.body) as k8s.V1APIResourceList;
    kinds = new Map(list.resources.filter((r) => !r.name.includes('/')).map((r) => [r.kind, r.namespaced]));
    scopeCache.set(apiVersion, kinds);
  }
  const namespaced = kinds.get(kind);
  if (namespaced === undefined) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
  return namespaced;
}

// ---------------------------------------------------------------------------------------
// helpers

const labelSelector = (matchLabels: Record<string, string>) =>
  Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

const isReady = (p: k8s.V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Waits until exactly `count` live pods match `selector`, all Running and Ready on kwok nodes. */
async function waitForRunningPods(
  namespace: string,
  selector: string,
  count: number,
  timeoutMs = 90_000,
): Promise<k8s.V1Pod[]> {
  let seen = 'no pods';
  try {
    return await waitFor(
      `${count} pod(s) ${namespace}/{${selector}} Running on kwok nodes`,
      async () => {
        const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
          (p) => !p.metadata?.deletionTimestamp,
        );
        seen = pods.map(describePod).join('; ') || 'no pods';
        const ok =
          pods.length === count &&
          pods.every((p) => p.status?.phase === 'Running' && isReady(p) && NODES.includes(p.spec?.nodeName ?? ''));
        return ok ? pods.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!)) : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${seen}`, { cause: err });
  }
}

const describePod = (p: k8s.V1Pod) => {
  const unscheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status !== 'True');
  return `${p.metadata!.name} ${p.status?.phase} node=${p.spec?.nodeName ?? '-'} ready=${isReady(p)}${unscheduled ? ` (${unscheduled.reason}: ${unscheduled.message})` : ''}`;
};

/** Ready endpoints of a Service, from its EndpointSlices: pod name → hostname. */
async function serviceEndpoints(namespace: string, service: string): Promise<Map<string, string | undefined>> {
  const slices = (
    await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` })
  ).items;
  const out = new Map<string, string | undefined>();
  for (const s of slices) {
    for (const e of s.endpoints ?? []) {
      if (e.targetRef?.kind === 'Pod' && e.conditions?.ready !== false) out.set(e.targetRef.name!, e.hostname);
    }
  }
  return out;
}

/** Waits until the Service's EndpointSlices name exactly `podNames` (sorted). */
async function waitForEndpoints(
  namespace: string,
  service: string,
  podNames: string[],
): Promise<Map<string, string | undefined>> {
  const want = [...podNames].sort();
  try {
    return await waitFor(
      `Service ${namespace}/${service} endpoints = [${want.join(', ')}]`,
      async () => {
        const eps = await serviceEndpoints(namespace, service);
        const have = [...eps.keys()].sort();
        return JSON.stringify(have) === JSON.stringify(want) ? eps : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  } catch (err) {
    // Show what the slices did say.
    const have = [...(await serviceEndpoints(namespace, service)).keys()].sort();
    expect({ service, endpoints: have }).toEqual({ service, endpoints: want });
    throw err;
  }
}

const warningLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '');

// ---------------------------------------------------------------------------------------
// setup: namespaces, the Secrets users create, PersistentVolumes for the claims

const pvNames: string[] = [];

beforeAll(async () => {
  expect(NODES.length).toBeGreaterThan(0);
  for (const file of FILES) {
    const original = loadDist(file);
    const ownNamespace = original.find((o) => o.kind === 'Namespace');
    stacks.set(file, { file, original, objects: original, namespace: ownNamespace?.metadata.name, ownNamespace });
  }
  // Namespaces for the files without one of their own (restricted: enforce + warn, version latest).
  await Promise.all(
    [...stacks.values()]
      .filter((s) => !s.ownNamespace)
      .map(async (s) => {
        s.testNamespace = await createTestNamespace(`dist-${s.file.replace(/\.k8s\.yaml$/, '')}`, {
          podSecurity: 'restricted',
        });
        s.namespace = s.testNamespace.name;
      }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([...stacks.values()].map((s) => s.testNamespace?.delete()));
  // The claims go with their namespaces; the volumes are released then (pv-protection).
  for (const name of pvNames) await core.deletePersistentVolume({ name }).catch(() => undefined);
}, 60_000);

/** Rewrites the namespace of namespaced objects (files without a Namespace of their own). */
async function placeObjects(s: Stack): Promise<Obj[]> {
  if (s.ownNamespace) return s.original;
  const out: Obj[] = [];
  for (const o of s.original) {
    const copy = structuredClone(o);
    if (await isNamespaced(o.apiVersion, o.kind)) copy.metadata.namespace = s.namespace;
    out.push(copy);
  }
  return out;
}

/**
 * What a user provides besides the file: the Secrets its pods reference but it does not
 * contain (redis-ha's password, docs/redis.md), and one PersistentVolume per claim of each
 * StatefulSet. This control plane has no StorageClass and no provisioner; the claims are
 * applied as they are in dist/ (no storageClassName: the cluster default, here none), which
 * the persistentvolume-binder binds to a volume of class "". Each volume is pre-bound to its
 * claim (claimRef), so no other test file's claim can take it, nor ours theirs.
 */
async function provideDependencies(s: Stack): Promise<void> {
  const secretsInFile = new Set(s.objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
  const wanted = new Map<string, Set<string>>();
  for (const o of s.objects) {
    const spec = o.kind === 'Pod' ? o.spec : o.spec?.template?.spec;
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secretsInFile.has(ref.name)) wanted.set(ref.name, (wanted.get(ref.name) ?? new Set()).add(ref.key));
      }
    }
  }
  for (const [name, keys] of wanted) {
    await core.createNamespacedSecret({
      namespace: s.namespace,
      body: {
        metadata: { name },
        stringData: Object.fromEntries([...keys].map((k) => [k, randomBytes(24).toString('hex')])),
      },
    });
  }
  for (const sts of s.objects.filter((o) => o.kind === 'StatefulSet')) {
    for (const tpl of sts.spec.volumeClaimTemplates ?? []) {
      for (let i = 0; i < (sts.spec.replicas ?? 1); i++) {
        const claim = `${tpl.metadata.name}-${sts.metadata.name}-${i}`;
        const name = `${s.namespace}-${claim}`;
        await core.createPersistentVolume({
          body: {
            metadata: { name, labels: { 'kube-tutorial-stack/test': 'dist' } },
            spec: {
              capacity: { storage: tpl.spec.resources.requests.storage },
              accessModes: tpl.spec.accessModes,
              volumeMode: tpl.spec.volumeMode ?? 'Filesystem',
              storageClassName: tpl.spec.storageClassName ?? '',
              persistentVolumeReclaimPolicy: 'Retain',
              hostPath: { path: `/tmp/kube-tutorial-stack-pv/${name}`, type: 'DirectoryOrCreate' },
              claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: s.namespace, name: claim },
            },
          },
        });
        pvNames.push(name);
      }
    }
  }
}

async function waitForCrds(objs: Obj[]): Promise<void> {
  for (const crd of objs.filter((o) => o.kind === 'CustomResourceDefinition')) {
    await waitFor(`CRD ${crd.metadata.name} Established`, async () => {
      const c = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    });
  }
}

// ---------------------------------------------------------------------------------------

describe('dist/ on a real control plane, Pod Security restricted', () => {
  it('holds the stacks this file knows how to check', () => {
    // A new file in dist/ is applied by the test below as well; its workloads need
    // assertions of their own here.
    expect(FILES).toEqual(
      expect.arrayContaining([
        'memcached-operator.k8s.yaml',
        'memcached-sample.k8s.yaml',
        'redis-deployment.k8s.yaml',
        'redis-pod.k8s.yaml',
        'redis-statefulset.k8s.yaml',
      ]),
    );
  });

  it('the target namespaces enforce and warn "restricted"', async () => {
    for (const s of stacks.values()) {
      const labels = s.ownNamespace
        ? s.ownNamespace.metadata.labels
        : (await core.readNamespace({ name: s.namespace })).metadata!.labels;
      expect({
        file: s.file,
        enforce: labels?.['pod-security.kubernetes.io/enforce'],
        warn: labels?.['pod-security.kubernetes.io/warn'],
      }).toEqual({
        file: s.file,
        enforce: 'restricted',
        warn: 'restricted',
      });
    }
  });

  it('a file that brings its Namespace keeps every namespaced object in it', async () => {
    for (const s of [...stacks.values()].filter((x) => x.ownNamespace)) {
      // The CRD is in the same file: its kinds are not served yet, and none of them is in it.
      for (const o of s.original.filter((x) => x.kind !== 'Namespace' && x.kind !== 'CustomResourceDefinition')) {
        if (await isNamespaced(o.apiVersion, o.kind))
          expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(
            `${o.kind}/${o.metadata.name} in ${s.namespace}`,
          );
      }
    }
  });

  // Files with Namespaces and CRDs first, then the rest in name order (as `kubectl apply -f dist/`
  // would need them to be).
  const order = () =>
    [...stacks.values()].sort(
      (a, b) =>
        Number(definesTypesOrNamespace(b.original)) - Number(definesTypesOrNamespace(a.original)) ||
        a.file.localeCompare(b.file),
    );

  it.each(FILES)('%s applies server-side with no warning (no PodSecurity warning in particular)', async (file) => {
    // it.each runs in FILES order; apply in dependency order whatever is due up to this file.
    for (const s of order()) {
      if (s.apply) continue;
      s.objects = await placeObjects(s);
      await provideDependencies(s);
      s.apply = await kubectlApplyResult(KUBECONFIG, s.objects, { fieldManager: FIELD_MANAGER });
      if (s.apply.code === 0) await waitForCrds(s.objects);
      if (s.file === file) break;
    }
    const s = stack(file);
    const res = s.apply!;
    expect({ file, code: res.code, stderr: res.stderr }).toEqual({ file, code: 0, stderr: '' });
    expect(warningLines(res.stderr).filter((l) => /PodSecurity/.test(l))).toEqual([]);
    // One "<resource>/<name> serverside-applied" line per object.
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(s.objects.length);
    for (const o of s.objects)
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`/${o.metadata.name} serverside-applied$`)));
  });

  it('control: the same check does see Pod Security warnings and rejections', async () => {
    // Without their security contexts, dist's pod templates are what restricted forbids: the
    // Deployment gets kubectl's "Warning: would violate PodSecurity", the Pod is rejected.
    const s = stack('redis-deployment.k8s.yaml');
    const strip = (spec: Obj) => {
      delete spec.securityContext;
      for (const c of spec.containers) delete c.securityContext;
    };
    const deployment = structuredClone(find(s.objects, 'Deployment'));
    deployment.metadata.name = 'insecure';
    strip(deployment.spec.template.spec);
    const warned = await kubectlApplyResult(KUBECONFIG, [deployment], {
      fieldManager: FIELD_MANAGER,
      extraArgs: ['--dry-run=server'],
    });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^Warning: would violate PodSecurity "restricted:latest": .*runAsNonRoot != true/m);

    const pod = structuredClone(find(stack('redis-pod.k8s.yaml').objects, 'Pod'));
    pod.metadata.name = 'insecure';
    strip(pod.spec);
    const rejected = await kubectlApplyResult(KUBECONFIG, [pod], {
      fieldManager: FIELD_MANAGER,
      extraArgs: ['--dry-run=server'],
    });
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(/forbidden: violates PodSecurity "restricted:latest"/);
  });

  it('redis-pod: the Pod is scheduled onto a kwok node and Running', async () => {
    const s = stack('redis-pod.k8s.yaml');
    const pod = find(s.objects, 'Pod');
    const [running] = await waitForRunningPods(s.namespace, labelSelector(pod.metadata.labels), 1);
    expect(running.metadata!.name).toBe(pod.metadata.name);
    expect(running.spec!.containers[0].image).toBe(pod.spec.containers[0].image);
    // Admitted as written: the restricted settings are what runs.
    expect(running.spec!.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('redis-deployment: its pod is Running, the Service selects it, a deleted pod is replaced', async () => {
    const s = stack('redis-deployment.k8s.yaml');
    const d = find(s.objects, 'Deployment');
    const svc = find(s.objects, 'Service');
    const selector = labelSelector(d.spec.selector.matchLabels);
    const [first] = await waitForRunningPods(s.namespace, selector, d.spec.replicas);
    expect(first.metadata!.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet' });
    await waitForEndpoints(s.namespace, svc.metadata.name, [first.metadata!.name!]);
    await waitFor('Deployment available', async () => {
      const live = await apps.readNamespacedDeployment({ namespace: s.namespace, name: d.metadata.name });
      return (
        live.status?.availableReplicas === d.spec.replicas &&
        live.status?.observedGeneration === live.metadata?.generation
      );
    });

    await core.deleteNamespacedPod({ namespace: s.namespace, name: first.metadata!.name! });
    const [second] = await waitFor(
      'a replacement pod',
      async () => {
        const pods = await waitForRunningPods(s.namespace, selector, d.spec.replicas, 5_000).catch(() => undefined);
        return pods && pods.every((p) => p.metadata!.name !== first.metadata!.name) ? pods : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(second.metadata!.name).not.toBe(first.metadata!.name);
    expect(second.metadata!.uid).not.toBe(first.metadata!.uid);
    await expect(core.readNamespacedPod({ namespace: s.namespace, name: first.metadata!.name! })).rejects.toMatchObject(
      { code: 404 },
    );
    // The Service follows: its endpoints are the new pod now.
    await waitForEndpoints(s.namespace, svc.metadata.name, [second.metadata!.name!]);
  });

  it('redis-statefulset: every claim is bound, every replica is Running, the Services select the right pods', async () => {
    const s = stack('redis-statefulset.k8s.yaml');
    const sts = find(s.objects, 'StatefulSet');
    const replicas: number = sts.spec.replicas;
    expect(replicas).toBeGreaterThanOrEqual(2);
    const podNames = Array.from({ length: replicas }, (_, i) => `${sts.metadata.name}-${i}`);
    const pods = await waitForRunningPods(s.namespace, labelSelector(sts.spec.selector.matchLabels), replicas);
    expect(pods.map((p) => p.metadata!.name)).toEqual(podNames);

    const pvcs = (await core.listNamespacedPersistentVolumeClaim({ namespace: s.namespace })).items;
    expect(pvcs.map((c) => [c.metadata!.name, c.status?.phase, c.spec?.volumeName]).sort()).toEqual(
      podNames.map((p) => [`data-${p}`, 'Bound', `${s.namespace}-data-${p}`]),
    );
    for (const p of pods) {
      expect(p.spec!.volumes!.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).toBe(
        `data-${p.metadata!.name}`,
      );
    }

    // The headless Service publishes each pod under its own host name.
    const headless = await waitForEndpoints(s.namespace, sts.spec.serviceName, podNames);
    expect([...headless.entries()].sort()).toEqual(podNames.map((p) => [p, p]));
    // Writes go to the master only: exactly pod 0. Reads go to every pod.
    const master = find(s.objects, 'Service', `${sts.metadata.name}-master`);
    await waitForEndpoints(s.namespace, master.metadata.name, [`${sts.metadata.name}-0`]);
    const read = find(s.objects, 'Service', `${sts.metadata.name}-read`);
    await waitForEndpoints(s.namespace, read.metadata.name, podNames);
  });

  it('redis-ha (when in dist/): claims bound, every server and proxy pod Running, Services select them', async () => {
    if (!stacks.has('redis-ha.k8s.yaml')) return;
    const s = stack('redis-ha.k8s.yaml');
    const sts = find(s.objects, 'StatefulSet');
    const proxy = find(s.objects, 'Deployment');
    const servers = await waitForRunningPods(
      s.namespace,
      labelSelector(sts.spec.selector.matchLabels),
      sts.spec.replicas,
    );
    expect(servers.map((p) => p.metadata!.name)).toEqual(
      Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`),
    );
    const proxies = await waitForRunningPods(
      s.namespace,
      labelSelector(proxy.spec.selector.matchLabels),
      proxy.spec.replicas,
    );
    const pvcs = (await core.listNamespacedPersistentVolumeClaim({ namespace: s.namespace })).items;
    expect(pvcs.map((c) => c.status?.phase)).toEqual(Array(sts.spec.replicas).fill('Bound'));
    await waitForEndpoints(
      s.namespace,
      sts.spec.serviceName,
      servers.map((p) => p.metadata!.name!),
    );
    // The master endpoint is HAProxy, which finds the master among the servers.
    const masterSvc = s.objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('-master'));
    expect(masterSvc?.spec.selector).toEqual(proxy.spec.selector.matchLabels);
    await waitForEndpoints(
      s.namespace,
      masterSvc!.metadata.name,
      proxies.map((p) => p.metadata!.name!),
    );
  });

  it("memcached-operator: the operator Deployment's pod is Running in its restricted Namespace, the metrics Service selects it", async () => {
    const s = stack('memcached-operator.k8s.yaml');
    const d = find(s.objects, 'Deployment');
    const live = await core.readNamespace({ name: s.namespace });
    expect(live.metadata!.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    const pods = await waitForRunningPods(s.namespace, labelSelector(d.spec.selector.matchLabels), d.spec.replicas);
    for (const p of pods) {
      expect(p.spec!.serviceAccountName).toBe(d.spec.template.spec.serviceAccountName);
      expect(p.spec!.containers[0].image).toBe(d.spec.template.spec.containers[0].image);
    }
    await waitFor('operator Deployment available', async () => {
      const x = await apps.readNamespacedDeployment({ namespace: s.namespace, name: d.metadata.name });
      return x.status?.availableReplicas === d.spec.replicas;
    });
    const svc = find(s.objects, 'Service');
    await waitForEndpoints(
      s.namespace,
      svc.metadata.name,
      pods.map((p) => p.metadata!.name!),
    );
  });

  it('memcached-sample: stored as written once the CRD from memcached-operator is established', async () => {
    const s = stack('memcached-sample.k8s.yaml');
    const sample = find(s.objects, 'Memcached');
    const got = await kubectl(KUBECONFIG, ['-n', s.namespace, 'get', 'memcached', sample.metadata.name, '-o', 'json']);
    expect(got.code).toBe(0);
    const live = JSON.parse(got.stdout);
    expect(live.spec).toEqual(sample.spec);
    expect(live.spec).toEqual({ size: 3, containerPort: PORT_DEFAULT });
  });

  it("every Service with a selector selects at least one of its stack's pods", async () => {
    for (const s of stacks.values()) {
      for (const svc of s.objects.filter((o) => o.kind === 'Service' && o.spec?.selector)) {
        const pods = (
          await core.listNamespacedPod({ namespace: s.namespace, labelSelector: labelSelector(svc.spec.selector) })
        ).items.filter((p) => !p.metadata?.deletionTimestamp);
        expect({ service: `${s.file}: ${svc.metadata.name}`, pods: pods.length > 0 }).toEqual({
          service: `${s.file}: ${svc.metadata.name}`,
          pods: true,
        });
        await waitForEndpoints(
          s.namespace,
          svc.metadata.name,
          pods.map((p) => p.metadata!.name!),
        );
      }
    }
  });
});
