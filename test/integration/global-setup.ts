// Starts ONE workload-tier control plane for the whole integration run and hands it to the
// test workers through the environment (workers are forked after this runs):
//   TEST_KUBECONFIG      admin kubeconfig (system:masters)
//   TEST_CLUSTER_SERVER  https://127.0.0.1:<port>
//   TEST_CLUSTER_PKI     PKI directory (CA key: lets tests mint user client certificates)
//   TEST_CLUSTER_NODES   comma-separated kwok Node names
// The binaries are built first when missing or stale (scripts/cluster-build.sh). Failing to
// start fails the run with the reason; nothing is skipped.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findBinaries, repoRoot, startControlPlane, type ControlPlane } from '../../cluster/controlplane';

declare global {
  var __TEST_CONTROL_PLANE__: ControlPlane | undefined;
}

function buildBinaries(): void {
  const script = join(repoRoot(), 'scripts', 'cluster-build.sh');
  const res = spawnSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status === 0) return;
  const why = res.error?.message ?? `exit code ${res.status}`;
  try {
    findBinaries('workload');
    console.warn(`\n[test cluster] ${script} failed (${why}); using the binaries already built.`);
  } catch (missing) {
    throw new Error(
      `[test cluster] could not build the control plane binaries (${why}).\n${(missing as Error).message}`,
      { cause: missing },
    );
  }
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  try {
    buildBinaries();
    const nodes = Math.max(1, Number(process.env.TEST_CLUSTER_NODE_COUNT) || 2);
    const cp = await startControlPlane({ tier: 'workload', nodes });
    globalThis.__TEST_CONTROL_PLANE__ = cp;
    process.env.TEST_KUBECONFIG = cp.kubeconfigPath;
    process.env.TEST_CLUSTER_SERVER = cp.server;
    process.env.TEST_CLUSTER_PKI = cp.pki.dir;
    process.env.TEST_CLUSTER_NODES = cp.nodes.join(',');
    const t = cp.timings;
    console.log(
      `\n[test cluster] workload tier ready at ${cp.server} in ${t.total} ms ` +
        `(pki ${t.pki}, etcd ${t.etcd}, apiserver ${t.apiserver}, workload ${t.workload}; ` +
        `${Date.now() - started} ms with the build check); kubeconfig ${cp.kubeconfigPath}`,
    );
  } catch (err) {
    const ci = process.env.CI === 'true' || process.env.CI === '1';
    console.error(
      `\n[test cluster] FAILED to start the shared control plane${ci ? ' (CI)' : ''}:\n${(err as Error).message}\n`,
    );
    throw err;
  }
}
