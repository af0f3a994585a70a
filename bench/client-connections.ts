// Micro-benchmark behind a finding of the operator benchmark: @kubernetes/client-node 2.0.1
// builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication →
// createDispatcher, not cached), so every API call opens a new TLS connection. This compares
// that default with one dispatcher reused by every request, on an api-tier control plane,
// with a ServiceAccount token as the operator has.
//   node scripts/run-ts.mjs bench/client-connections.ts [--requests 300] [--rounds 3]
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { reuseConnections } from '../operator/runtime/client/kube-config';
import { startControlPlane } from '../cluster/controlplane';
import { median, procSample } from './lib/stats';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' } },
});
const n = Number(values.requests);
const rounds = Number(values.rounds);

const cp = await startControlPlane({ tier: 'api' });
try {
  const pids = readFileSync(join(cp.dir, 'pids'), 'utf8').trim().split(/\s+/).map(Number);
  const apiPid = pids.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('kube-apiserver'))!;
  const sa = await cp.serviceAccountKubeconfig('default', 'bench-client', { create: true });
  await cp
    .kubeConfig()
    .makeApiClient(k8s.RbacAuthorizationV1Api)
    .createClusterRoleBinding({
      body: {
        metadata: { name: 'bench-client' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'bench-client', namespace: 'default' }],
      },
    });
  const kubeConfig = (reuse: boolean) => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(sa.path);
    return reuse ? reuseConnections(kc) : kc;
  };
  const clientCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const apiCpu = () => procSample(apiPid)!.cpuSeconds * 1000;
  type Row = {
    seqMs: number;
    seqClient: number;
    seqApi: number;
    parMs: number;
    parClient: number;
    parApi: number;
    burstMs: number;
  };
  const rows: Record<string, Row[]> = {
    'client-node default (new connection per request)': [],
    'one reused dispatcher': [],
  };
  for (let round = 1; round <= rounds; round++) {
    for (const reuse of [false, true]) {
      const core = kubeConfig(reuse).makeApiClient(k8s.CoreV1Api);
      const c0 = clientCpu(),
        a0 = apiCpu(),
        t0 = performance.now();
      for (let i = 0; i < n; i++) {
        await core.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { name: `cm-${round}-${reuse}-${i}` }, data: { a: 'b' } },
        });
      }
      const c1 = clientCpu(),
        a1 = apiCpu(),
        t1 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < n)
            await core.readNamespacedConfigMap({ namespace: 'default', name: `cm-${round}-${reuse}-${next++}` });
        }),
      );
      const c2 = clientCpu(),
        a2 = apiCpu(),
        t2 = performance.now();
      // a burst: n POSTs with 50 in flight (what a burst of new objects looks like)
      let k = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (k < n)
            await core.createNamespacedConfigMap({
              namespace: 'default',
              body: { metadata: { name: `burst-${round}-${reuse}-${k++}` }, data: { a: 'b' } },
            });
        }),
      );
      const t3 = performance.now();
      rows[reuse ? 'one reused dispatcher' : 'client-node default (new connection per request)'].push({
        seqMs: (t1 - t0) / n,
        seqClient: (c1 - c0) / n,
        seqApi: (a1 - a0) / n,
        parMs: (t2 - t1) / n,
        parClient: (c2 - c1) / n,
        parApi: (a2 - a1) / n,
        burstMs: t3 - t2,
      });
    }
  }
  console.log(
    `per request, medians of ${rounds} rounds of ${n} requests (client = this process, Node ${process.version}; apiserver = kube-apiserver process)`,
  );
  console.log(
    `| client | sequential POST ms | client CPU ms | apiserver CPU ms | 8 parallel GETs ms | client CPU ms | apiserver CPU ms | ${n} POSTs, 50 in flight, total ms |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, rs] of Object.entries(rows)) {
    const m = (k: keyof Row) => median(rs.map((r) => r[k]))!.toFixed(2);
    console.log(
      `| ${name} | ${m('seqMs')} | ${m('seqClient')} | ${m('seqApi')} | ${m('parMs')} | ${m('parClient')} | ${m('parApi')} | ${m('burstMs')} |`,
    );
  }
} finally {
  await cp.stop();
}
process.exit(0);
