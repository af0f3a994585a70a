// Micro-benchmark behind a resize finding of the comparison with the Go sample: what one
// replicas change costs the API server as the operator's server-side apply of the whole
// rendered Deployment, against a JSON merge patch of spec.replicas alone (what a resize
// changes). Api-tier control plane (no controllers, so nothing else writes), the operator's
// own client and rendering; the API server's CPU is read from /proc between batches.
//   node scripts/run-ts.mjs bench/scale-write.ts [--objects 200] [--rounds 3]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../cluster/controlplane';
import { renderMemcachedOperand } from '../constructs/memcached-operand';
import { Client } from '../operator/runtime/client/client';
import { reuseConnections } from '../operator/runtime/client/kube-config';
import { kubeRequest } from '../operator/runtime/client/kube-request';
import { DEPLOYMENTS } from '../operator/memcached/resources';
import { median, procSample } from './lib/stats';

const { values } = parseArgs({
  options: { objects: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' } },
});
const n = Number(values.objects);
const rounds = Number(values.rounds);
const FIELD_MANAGER = 'memcached-operator';

const cp = await startControlPlane({ tier: 'api' });
try {
  const pids = readFileSync(join(cp.dir, 'pids'), 'utf8').trim().split(/\s+/).map(Number);
  const apiPid = pids.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('kube-apiserver'))!;
  const kc = reuseConnections(cp.kubeConfig());
  const client = new Client(kc, { fieldManager: FIELD_MANAGER, identity: 'bench' });
  const render = (i: number, size: number) =>
    renderMemcachedOperand({
      owner: { apiVersion: 'cache.example.com/v1alpha1', name: `mc-${i}`, namespace: 'default', uid: `uid-${i}` },
      spec: { size, containerPort: 11211 },
      image: 'memcached:1.6.39-alpine',
    }).deployment;
  for (let i = 0; i < n; i++) await client.create(DEPLOYMENTS, render(i, 2));
  const apiCpuMs = () => procSample(apiPid)!.cpuSeconds * 1000;
  const results: Record<string, { ms: number[]; apiMs: number[] }> = {
    'server-side apply of the rendered Deployment': { ms: [], apiMs: [] },
    'merge patch of spec.replicas': { ms: [], apiMs: [] },
  };
  let size = 2;
  for (let round = 1; round <= rounds; round++) {
    for (const [name, r] of Object.entries(results)) {
      size++;
      const a0 = apiCpuMs();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        if (name.startsWith('server-side')) await client.apply(DEPLOYMENTS, render(i, size));
        else
          await kubeRequest(kc, {
            method: 'PATCH',
            path: `/apis/apps/v1/namespaces/default/deployments/mc-${i}`,
            query: { fieldManager: FIELD_MANAGER },
            contentType: 'application/merge-patch+json',
            body: { spec: { replicas: size } },
          });
      }
      r.ms.push((performance.now() - t0) / n);
      r.apiMs.push((apiCpuMs() - a0) / n);
    }
  }
  console.log(`${n} Deployments, ${rounds} rounds, per write (median of rounds):`);
  console.log('| write | wall ms | kube-apiserver CPU ms |\n| --- | --- | --- |');
  for (const [name, r] of Object.entries(results))
    console.log(`| ${name} | ${median(r.ms)?.toFixed(2)} | ${median(r.apiMs)?.toFixed(2)} |`);
} finally {
  await cp.stop();
}
