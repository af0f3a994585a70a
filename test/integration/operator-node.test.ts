// The operator end to end on a real node (issue 15): the images built here (cluster/images.ts),
// dist/ synthesized with them through configuration (STACK_CONFIG from stackConfigFor, into a
// temporary folder: the repository's dist/ is never touched), and the shared node tier
// (test/support/node-cluster.ts). memcached-operator.k8s.yaml is applied as is with kubectl:
//   - the operator pod becomes Ready through its own HTTP probes, run by the kubelet;
//   - it talks to the apiserver in-cluster with its ServiceAccount token (the apiserver's
//     audit log shows its requests as system:serviceaccount:<ns>:memcached-operator, from the
//     pod's address) and holds the leader Lease;
//   - the sample makes memcached pods that serve set/get to another pod through the operand
//     Service's DNS name (CoreDNS), and `kubectl scale memcached` changes how many serve;
//   - a deleted operator pod hands over to its replacement (Lease holder changes, reconciling
//     goes on), and on a rollout the old pod exits 0 on SIGTERM within its grace period.
// Prints the operator image's size and the apply-to-Available times.
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ImageSet } from '../../cluster/images';
import { loadDist } from '../support/dist';
import {
  acquireNodeCluster,
  archives,
  isReady,
  localImages,
  synthesizeLocal,
  type NodeCluster,
} from '../support/node-cluster';
import { sleep, waitFor } from '../support/wait';

jest.setTimeout(300_000);

const log = (m: string) => process.stdout.write(`operator-node: ${m}\n`);
const GROUP = 'cache.example.com';

describe('the operator from dist/ on a real node', () => {
  let images: ImageSet;
  let dist: string;
  let cluster: NodeCluster;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let coordination: k8s.CoordinationV1Api;
  let custom: k8s.CustomObjectsApi;
  let operatorNs: string;
  let serviceAccount: string;
  let leaseName: string;
  let selector: string;
  let sample: { name: string; namespace: string; size: number; port: number };
  const figures: Record<string, string | number> = {};
  // every status seen of every operator pod, by pod name (a watch: the last one before deletion counts)
  const podHistory = new Map<string, k8s.V1Pod[]>();
  let stopWatch: (() => void) | undefined;

  beforeAll(async () => {
    // the lease first: the tier a previous suite left running stays up while images are checked
    let t = Date.now();
    cluster = await acquireNodeCluster('operator-node');
    figures.nodeTierSeconds = (Date.now() - t) / 1000;
    log(`node tier ${cluster.startedHere ? 'started' : 'shared'} in ${figures.nodeTierSeconds} s at ${cluster.server}`);
    t = Date.now();
    images = await localImages((l) => log(l));
    figures.imagesSeconds = (Date.now() - t) / 1000;
    t = Date.now();
    dist = synthesizeLocal(images);
    figures.synthSeconds = (Date.now() - t) / 1000;
    t = Date.now();
    await cluster.loadImages(archives(images, ['operator', 'memcached']));
    figures.loadImagesSeconds = (Date.now() - t) / 1000;
    const kc = cluster.kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);

    const objs = loadDist('memcached-operator', dist);
    const deploy = objs.find((o) => o.kind === 'Deployment')!;
    operatorNs = deploy.metadata.namespace;
    serviceAccount = deploy.spec.template.spec.serviceAccountName;
    selector = Object.entries(deploy.spec.selector.matchLabels as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const args: string[] = deploy.spec.template.spec.containers[0].args;
    const env: { name: string; value?: string }[] = deploy.spec.template.spec.containers[0].env;
    const domain = env.find((e) => e.name === 'MEMCACHED_GROUP_DOMAIN')?.value;
    expect(domain).toBe('example.com');
    expect(args).toContain('--leader-elect');
    leaseName = `memcached-operator.${GROUP}`;
    const s = loadDist('memcached-sample', dist)[0];
    sample = { name: s.metadata.name, namespace: s.metadata.namespace, size: s.spec.size, port: s.spec.containerPort };

    // the synthesized manifests run the local images, nothing else
    expect(deploy.spec.template.spec.containers[0].image).toBe(images.operator.ref);
    expect(env.find((e) => e.name === 'MEMCACHED_IMAGE')?.value).toBe(images.memcached.ref);

    let watching = true;
    let req: AbortController | undefined;
    const start = async (): Promise<void> => {
      if (!watching) return;
      req = await new k8s.Watch(kc).watch(
        `/api/v1/namespaces/${operatorNs}/pods`,
        { labelSelector: selector },
        (_type, pod: k8s.V1Pod) => {
          const name = pod.metadata!.name!;
          podHistory.set(name, [...(podHistory.get(name) ?? []), pod]);
        },
        () => void start().catch(() => undefined), // client-node ends idle watches: watch again
      );
    };
    stopWatch = () => {
      watching = false;
      req?.abort();
    };
    // the namespace does not exist yet; a watch on it is fine
    await start();
  }, 1_800_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls > state.numPassingAsserts) void dumpOperatorLogs();
  });

  afterAll(async () => {
    stopWatch?.();
    log(`figures: ${JSON.stringify(figures)}`);
    if (cluster) {
      await cluster.kubectl([
        'delete',
        '--wait=false',
        '--ignore-not-found',
        '-f',
        join(dist, 'memcached-sample.k8s.yaml'),
      ]);
      await cluster.kubectl([
        'delete',
        '--wait=false',
        '--ignore-not-found',
        '-f',
        join(dist, 'memcached-operator.k8s.yaml'),
      ]);
      cluster.release();
    }
    if (dist) rmSync(dirname(dist), { recursive: true, force: true });
  }, 120_000);

  async function dumpOperatorLogs() {
    const pods = (await core.listNamespacedPod({ namespace: operatorNs, labelSelector: selector })).items;
    for (const p of pods) {
      const r = await cluster.kubectl(['logs', '-n', operatorNs, p.metadata!.name!, '--tail=40']);
      log(`==== ${p.metadata!.name} ${JSON.stringify(p.status?.containerStatuses)}\n${r.stdout}${r.stderr}`);
    }
  }

  const operatorPods = async () =>
    (await core.listNamespacedPod({ namespace: operatorNs, labelSelector: selector })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );

  async function leaseHolder(): Promise<string | undefined> {
    const lease = await coordination.readNamespacedLease({ namespace: operatorNs, name: leaseName });
    return lease.spec?.holderIdentity ?? undefined;
  }

  /** The one Ready operator pod that holds the Lease (identity = its hostname + "_" + a UUID). */
  async function waitLeader(not?: string): Promise<k8s.V1Pod> {
    return waitFor(
      'a Ready operator pod holding the Lease',
      async () => {
        const holder = await leaseHolder();
        const pods = await operatorPods();
        const leader = pods.find((p) => holder?.startsWith(`${p.metadata!.name}_`));
        return leader && isReady(leader) && leader.metadata!.name !== not ? leader : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }

  async function memcached(): Promise<any> {
    return custom.getNamespacedCustomObject({
      group: GROUP,
      version: 'v1alpha1',
      namespace: sample.namespace,
      plural: 'memcacheds',
      name: sample.name,
    });
  }

  /** Waits for the sample's Available=True at `size` with that many Ready pods. */
  async function waitAvailable(size: number): Promise<void> {
    await waitFor(
      `Memcached ${sample.name} Available with ${size} pods`,
      async () => {
        const m = await memcached();
        const available = (m.status?.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True');
        const d = await apps.readNamespacedDeployment({ namespace: sample.namespace, name: sample.name });
        return (
          available &&
          m.status?.replicas === size &&
          d.spec?.replicas === size &&
          d.status?.readyReplicas === size &&
          (d.status?.replicas ?? 0) === size
        );
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  }

  /**
   * From a pod of its own (the memcached image, restricted, bash's /dev/tcp), resolves the
   * operand Service's DNS name through the cluster DNS and sends set/get to every address it
   * returns. Resolves with the addresses and each one's answers.
   */
  async function setGetThroughService(tag: string): Promise<{ addresses: string[]; lines: string[] }> {
    const fqdn = `${sample.name}.${sample.namespace}.svc.cluster.local`;
    const script = [
      'set -eu',
      `addrs="$(getent ahostsv4 ${fqdn} | awk '{print $1}' | sort -u)"`,
      'echo "addresses $(echo $addrs)"',
      'for a in $addrs; do',
      `  exec 3<>/dev/tcp/$a/${sample.port}`,
      `  v="${tag}-$a"`,
      `  printf 'set k-${tag} 0 60 %d\\r\\n%s\\r\\nget k-${tag}\\r\\nquit\\r\\n' "\${#v}" "$v" >&3`,
      "  echo \"$a $(tr -d '\\r' <&3 | tr '\\n' ' ')\"",
      '  exec 3<&-',
      'done',
    ].join('\n');
    const name = `client-${tag}`;
    await core.createNamespacedPod({
      namespace: sample.namespace,
      body: {
        metadata: { name, labels: { [`${sample.name}-client`]: 'true' } },
        spec: {
          restartPolicy: 'Never',
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 11211,
            runAsGroup: 11211,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'client',
              image: images.memcached.ref,
              imagePullPolicy: 'Never',
              command: ['bash', '-c', script],
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                readOnlyRootFilesystem: true,
              },
            },
          ],
        },
      },
    });
    const phase = await waitFor(
      `${name} finished`,
      async () => {
        const p = (await core.readNamespacedPod({ namespace: sample.namespace, name })).status?.phase;
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const out = await core.readNamespacedPodLog({ namespace: sample.namespace, name });
    await core.deleteNamespacedPod({ namespace: sample.namespace, name, gracePeriodSeconds: 0 });
    log(`${name}: ${phase}\n${out}`);
    expect(phase).toBe('Succeeded');
    const lines = out
      .trim()
      .split('\n')
      .map((l) => l.trim());
    const addresses = lines[0]
      .replace(/^addresses /, '')
      .split(' ')
      .filter(Boolean);
    return { addresses, lines: lines.slice(1) };
  }

  /** Asserts that exactly the sample's Ready pods answered, each with STORED and its own value. */
  async function expectServing(size: number, tag: string): Promise<void> {
    const pods = (
      await core.listNamespacedPod({
        namespace: sample.namespace,
        labelSelector: `app.kubernetes.io/name=memcached,app.kubernetes.io/instance=${sample.name}`,
      })
    ).items.filter((p) => !p.metadata?.deletionTimestamp && isReady(p));
    const podIps = pods.map((p) => p.status!.podIP!).sort();
    expect(podIps).toHaveLength(size);
    for (const p of pods) expect(p.spec?.nodeName).toBe(cluster.nodeName);
    // CoreDNS answers from the EndpointSlices: wait until it lists exactly the Ready pods
    let result = await setGetThroughService(`${tag}-1`);
    for (let n = 2; JSON.stringify(result.addresses.sort()) !== JSON.stringify(podIps) && n <= 5; n++) {
      await sleep(2000);
      result = await setGetThroughService(`${tag}-${n}`);
    }
    expect(result.addresses.sort()).toEqual(podIps);
    // every pod stored the value sent to it and gave it back
    for (const ip of podIps) {
      const line = result.lines.find((l) => l.startsWith(`${ip} `));
      const esc = ip.replace(/\./g, '\\.');
      expect(line).toMatch(new RegExp(`^${esc} STORED VALUE k-(\\S+) 0 \\d+ \\1-${esc} END$`));
    }
  }

  test('kubectl apply of memcached-operator.k8s.yaml as is: the operator pod gets Ready through its probes and takes the Lease', async () => {
    const t0 = Date.now();
    const out = await cluster.kubectlOk(['apply', '--server-side', '-f', join(dist, 'memcached-operator.k8s.yaml')]);
    log(`apply:\n${out}`);
    await waitFor(
      'Deployment memcached-operator Available',
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace: operatorNs, name: 'memcached-operator' });
        return (d.status?.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True');
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    );
    figures.operatorApplyToAvailableMs = Date.now() - t0;
    const leader = await waitLeader();
    figures.operatorApplyToLeaderMs = Date.now() - t0;
    const size = images.operator.size;
    figures.operatorImageBytes = size;
    figures.operatorArchiveBytes = statSync(images.operator.archive).size;
    log(
      `operator image ${images.operator.ref}: ${(size / 1e6).toFixed(1)} MB (archive ${(Number(figures.operatorArchiveBytes) / 1e6).toFixed(1)} MB); ` +
        `apply -> Deployment Available ${figures.operatorApplyToAvailableMs} ms, -> Lease held ${figures.operatorApplyToLeaderMs} ms`,
    );

    // A real container on the real node, Ready through the kubelet's HTTP probes (/readyz on 8081).
    expect(leader.spec?.nodeName).toBe(cluster.nodeName);
    const status = leader.status!.containerStatuses![0];
    expect(status.ready).toBe(true);
    expect(status.restartCount).toBe(0);
    expect(status.imageID).toMatch(/^(localhost\/kts\/memcached-operator@)?sha256:/);
    expect(status.containerID).toMatch(/^containerd:\/\//);
    const c = leader.spec!.containers[0];
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    const readyAt = Date.parse(String(leader.status!.conditions!.find((x) => x.type === 'Ready')!.lastTransitionTime));
    const startedAt = Date.parse(String(status.state?.running?.startedAt));
    // initialDelaySeconds of the readiness probe: the kubelet did not call it Ready before that
    expect(readyAt - startedAt).toBeGreaterThanOrEqual((c.readinessProbe!.initialDelaySeconds ?? 0) * 1000 - 1000);

    // Its log: started with the Deployment's flags, took the Lease, synced its caches.
    const logs = await cluster.kubectlOk(['logs', '-n', operatorNs, leader.metadata!.name!]);
    expect(logs).toMatch(/"msg":"starting"/);
    expect(logs).toMatch(/successfully acquired lease/);
    expect(logs).toMatch(/caches synced, starting workers/);
    expect(logs).toContain(leader.metadata!.name!); // identity: its hostname (the pod name) + UUID
  });

  test('it authenticated in-cluster with its ServiceAccount token (the apiserver audit log)', async () => {
    const leader = await waitLeader();
    const podIp = leader.status!.podIP!;
    const user = `system:serviceaccount:${operatorNs}:${serviceAccount}`;
    // The token is the projected ServiceAccount volume the kubelet mounted
    expect(leader.spec?.automountServiceAccountToken).toBe(true);
    expect(leader.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))).toBe(true);
    const events = await waitFor(
      `audit events of ${user} from ${podIp}`,
      () => {
        const mine = cluster.auditEvents().filter((e) => e.user.username === user && e.sourceIPs?.includes(podIp));
        return mine.some((e) => e.objectRef?.resource === 'leases') &&
          mine.some((e) => e.objectRef?.resource === 'memcacheds')
          ? mine
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const leaseWrites = events.filter(
      (e) =>
        e.objectRef?.resource === 'leases' &&
        e.objectRef.name === leaseName &&
        ['update', 'create', 'patch'].includes(e.verb),
    );
    expect(leaseWrites.length).toBeGreaterThan(0);
    expect(leaseWrites.every((e) => (e.responseStatus?.code ?? 0) < 300)).toBe(true);
    // a bound token: the apiserver names the pod it was issued for
    const bound = events.find((e) => e.user.extra?.['authentication.kubernetes.io/pod-name']);
    expect(bound?.user.extra?.['authentication.kubernetes.io/pod-name']).toEqual([leader.metadata!.name]);
    expect(events.every((e) => e.user.groups?.includes('system:serviceaccounts'))).toBe(true);
    log(
      `audit: ${events.length} requests as ${user} from ${podIp} (${[...new Set(events.map((e) => `${e.verb} ${e.objectRef?.resource}`))].join(', ')})`,
    );
  });

  test('the sample makes memcached pods that serve set/get through the Service name from another pod', async () => {
    const t0 = Date.now();
    await cluster.kubectlOk(['apply', '--server-side', '-f', join(dist, 'memcached-sample.k8s.yaml')]);
    await waitAvailable(sample.size);
    figures.sampleApplyToAvailableMs = Date.now() - t0;
    log(`sample (size ${sample.size}): apply -> Memcached Available ${figures.sampleApplyToAvailableMs} ms`);
    const d = await apps.readNamespacedDeployment({ namespace: sample.namespace, name: sample.name });
    expect(d.spec?.template.spec?.containers[0].image).toBe(images.memcached.ref);
    expect(d.metadata?.ownerReferences?.[0]?.kind).toBe('Memcached');
    await expectServing(sample.size, 'sample');
  });

  test('kubectl scale memcached changes the number of serving pods', async () => {
    const size = sample.size + 1;
    await cluster.kubectlOk(['scale', '-n', sample.namespace, `memcached/${sample.name}`, `--replicas=${size}`]);
    expect((await memcached()).spec.size).toBe(size);
    await waitAvailable(size);
    await expectServing(size, 'scaled');
  });

  test('deleting the operator pod hands over to the new one: Lease holder changes, reconciling goes on', async () => {
    const old = await waitLeader();
    const oldHolder = await leaseHolder();
    const t0 = Date.now();
    await core.deleteNamespacedPod({ namespace: operatorNs, name: old.metadata!.name! });
    const next = await waitLeader(old.metadata!.name!);
    const newHolder = await leaseHolder();
    figures.podDeletedToNewLeaderMs = Date.now() - t0;
    log(`operator pod deleted: ${next.metadata!.name} holds the Lease after ${figures.podDeletedToNewLeaderMs} ms`);
    expect(newHolder).not.toBe(oldHolder);
    expect(newHolder?.startsWith(`${next.metadata!.name}_`)).toBe(true);
    // the new leader reconciles: a size change through spec.size
    await custom.patchNamespacedCustomObject({
      group: GROUP,
      version: 'v1alpha1',
      namespace: sample.namespace,
      plural: 'memcacheds',
      name: sample.name,
      body: [{ op: 'replace', path: '/spec/size', value: 2 }],
    });
    await waitAvailable(2);
    await expectServing(2, 'handover');
  });

  test('kubectl rollout restart: the old pod exits 0 on SIGTERM within its grace period, the new one leads', async () => {
    const old = await waitLeader();
    const oldName = old.metadata!.name!;
    const grace = old.spec!.terminationGracePeriodSeconds!;
    const t0 = Date.now();
    await cluster.kubectlOk(['rollout', 'restart', '-n', operatorNs, 'deployment/memcached-operator']);
    await cluster.kubectlOk(['rollout', 'status', '-n', operatorNs, 'deployment/memcached-operator', '--timeout=180s']);
    const terminated = await waitFor(
      `${oldName}'s container terminated`,
      () => {
        for (const p of podHistory.get(oldName) ?? []) {
          const t = p.status?.containerStatuses?.[0]?.state?.terminated;
          if (t)
            return { t, deletion: p.metadata?.deletionTimestamp, graceSeconds: p.metadata?.deletionGracePeriodSeconds };
        }
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const next = await waitLeader(oldName);
    figures.rolloutToNewLeaderMs = Date.now() - t0;
    // deletionTimestamp is when the grace period ends: the deletion was asked for that much earlier
    const deletedAt = Date.parse(String(terminated.deletion)) - (terminated.graceSeconds ?? grace) * 1000;
    const ranFor = Date.parse(String(terminated.t.finishedAt)) - deletedAt;
    log(
      `rollout: ${oldName} terminated ${JSON.stringify(terminated.t)} (${ranFor} ms after its deletion, ±1 s; grace ${grace} s); ` +
        `${next.metadata!.name} leads after ${figures.rolloutToNewLeaderMs} ms`,
    );
    expect(terminated.t.exitCode).toBe(0);
    expect(terminated.t.reason).toBe('Completed');
    expect(terminated.deletion).toBeDefined();
    expect(terminated.graceSeconds).toBe(grace);
    // finishedAt and deletionTimestamp have second precision
    expect(ranFor).toBeGreaterThanOrEqual(-1000);
    expect(ranFor).toBeLessThan(grace * 1000);
    // and the new leader reconciles
    await cluster.kubectlOk(['scale', '-n', sample.namespace, `memcached/${sample.name}`, '--replicas=1']);
    await waitAvailable(1);
    await expectServing(1, 'rollout');
  });
});
