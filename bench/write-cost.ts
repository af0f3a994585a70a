// Micro-benchmark behind the resize findings of the comparison with the Go sample: what each
// kind of write the operator makes costs the API server, against the alternatives.
//   - a replica change: server-side apply of the whole rendered Deployment, or a JSON merge
//     patch of spec.replicas (what the operator sends since a resize is one field);
//   - a Memcached status write: a merge patch of status (what the operator sends), a PUT of the
//     whole object (what the Go sample sends), and the merge patch again after the CRD's two
//     root-level CEL rules (metadata.name) were taken out, to see what they cost.
// Api-tier control plane (no controllers, so nothing else writes), the operator's own client,
// rendering and status; one request at a time; the API server's CPU read from /proc between
// batches. Prints a table; figures in docs/benchmarks.md.
//   node scripts/run-ts.mjs bench/write-cost.ts [--objects 200] [--rounds 3]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../cluster/controlplane';
import { installOperatorPrerequisites } from '../cluster/operator-manifests';
import { FIELD_MANAGER, MEMCACHED_VERSION, memcachedGroup } from '../constructs/memcached-api';
import { renderMemcachedOperand } from '../constructs/memcached-operand';
import { DEPLOYMENTS } from '../operator/memcached/resources';
import { computeStatus } from '../operator/memcached/status';
import { Client } from '../operator/runtime/client/client';
import { reuseConnections } from '../operator/runtime/client/kube-config';
import { kubeRequest } from '../operator/runtime/client/kube-request';
import type { KubeObject, ResourceRef } from '../operator/runtime/object';
import { median, procSample } from './lib/stats';

const { values } = parseArgs({
  options: { objects: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' } },
});
const n = Number(values.objects);
const rounds = Number(values.rounds);
const GROUP = memcachedGroup();
const MEMCACHEDS: ResourceRef = { group: GROUP, version: MEMCACHED_VERSION, plural: 'memcacheds', namespaced: true };
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/memcacheds.cache.example.com';

const cp = await startControlPlane({ tier: 'api' });
try {
  const pids = readFileSync(join(cp.dir, 'pids'), 'utf8').trim().split(/\s+/).map(Number);
  const apiPid = pids.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('kube-apiserver'))!;
  const apiCpuMs = () => procSample(apiPid)!.cpuSeconds * 1000;
  await installOperatorPrerequisites(cp.kubeconfigPath);
  const kc = reuseConnections(cp.kubeConfig());
  const client = new Client(kc, { fieldManager: FIELD_MANAGER, identity: 'bench' });
  const name = (i: number) => `mc-${i}`;

  // The objects: n Memcached objects and a Deployment rendered for each.
  const crs: KubeObject[] = [];
  for (let i = 0; i < n; i++) {
    crs.push(
      await kubeRequest<KubeObject>(kc, {
        method: 'POST',
        path: `/apis/${GROUP}/${MEMCACHED_VERSION}/namespaces/default/memcacheds`,
        body: {
          apiVersion: `${GROUP}/${MEMCACHED_VERSION}`,
          kind: 'Memcached',
          metadata: { name: name(i) },
          spec: { size: 2 },
        },
      }),
    );
  }
  const render = (i: number, size: number) =>
    renderMemcachedOperand({
      owner: { apiVersion: crs[i].apiVersion!, name: name(i), namespace: 'default', uid: crs[i].metadata.uid! },
      spec: { size, containerPort: 11211 },
      image: 'memcached:1.6.39-alpine',
    }).deployment;
  for (let i = 0; i < n; i++) await client.create(DEPLOYMENTS, render(i, 2));

  // A status as the operator writes it, for a Deployment with `ready` of 3 pods ready.
  const statusFor = (cr: KubeObject, ready: number) =>
    computeStatus({
      cr,
      size: 3,
      deployment: {
        metadata: { name: cr.metadata.name, generation: 2 },
        spec: { replicas: 3 },
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: ready,
          availableReplicas: ready,
          conditions: [{ type: 'Available', status: ready >= 2 ? 'True' : 'False' }],
        },
      },
      pods: Array.from({ length: ready }, (_, p) => ({ metadata: { name: `${cr.metadata.name}-abc-${p}` } })),
      now: new Date(),
    });

  type Write = (i: number, round: number) => Promise<unknown>;
  const crPath = (i: number) => `/apis/${GROUP}/${MEMCACHED_VERSION}/namespaces/default/memcacheds/${name(i)}`;
  /** The objects as stored (a PUT must carry the current resourceVersion); not measured. */
  const refresh = async () => {
    for (let i = 0; i < n; i++) crs[i] = await kubeRequest<KubeObject>(kc, { method: 'GET', path: crPath(i) });
  };
  const writes: [string, Write][] = [
    [
      'Deployment replicas: server-side apply of the rendered Deployment',
      (i, r) => client.apply(DEPLOYMENTS, render(i, 3 + (r % 2))),
    ],
    [
      'Deployment replicas: merge patch of spec.replicas',
      (i, r) => client.mergePatch(DEPLOYMENTS, render(i, 0), { spec: { replicas: 3 + (r % 2) } }),
    ],
    [
      'Memcached status: merge patch (the operator)',
      (i, r) => client.patchStatus(MEMCACHEDS, crs[i], statusFor(crs[i], 1 + (r % 3))),
    ],
    [
      'Memcached status: PUT of the whole object (the Go sample)',
      async (i, r) => {
        crs[i] = await kubeRequest<KubeObject>(kc, {
          method: 'PUT',
          path: `${crPath(i)}/status`,
          query: { fieldManager: FIELD_MANAGER },
          body: { ...crs[i], status: statusFor(crs[i], 1 + (r % 3)) },
        });
      },
    ],
  ];
  const results = new Map<string, { ms: number[]; apiMs: number[] }>();
  const measure = async (label: string, write: Write, round: number) => {
    if (label.includes('PUT')) await refresh();
    const r = results.get(label) ?? { ms: [], apiMs: [] };
    results.set(label, r);
    const a0 = apiCpuMs();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await write(i, round);
    r.ms.push((performance.now() - t0) / n);
    r.apiMs.push((apiCpuMs() - a0) / n);
  };
  let round = 0;
  for (let k = 1; k <= rounds; k++) for (const [label, write] of writes) await measure(label, write, ++round);

  // The same status merge patch without the CRD's root-level CEL rules (they check
  // metadata.name and run on every write of the object, status included).
  const crd = await kubeRequest<KubeObject>(kc, { method: 'GET', path: CRD_PATH });
  for (const v of crd.spec.versions) delete v.schema.openAPIV3Schema['x-kubernetes-validations'];
  await kubeRequest(kc, { method: 'PUT', path: CRD_PATH, body: crd });
  await new Promise((r) => setTimeout(r, 3000)); // the API server reloads the CRD's storage
  await refresh();
  for (let k = 1; k <= rounds; k++)
    await measure(
      'Memcached status: merge patch, CRD without its CEL rules',
      (i, r) => client.patchStatus(MEMCACHEDS, crs[i], statusFor(crs[i], 1 + (r % 3))),
      ++round,
    );

  console.log(`${n} objects, ${rounds} rounds, one request at a time, per write (median of rounds):`);
  console.log('| write | wall ms | kube-apiserver CPU ms |\n| --- | --- | --- |');
  for (const [label, r] of results)
    console.log(`| ${label} | ${median(r.ms)?.toFixed(2)} | ${median(r.apiMs)?.toFixed(2)} |`);
} finally {
  await cp.stop();
}
