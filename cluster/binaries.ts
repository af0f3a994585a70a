// Where the control plane's programs are: the multi-call `kube` binary and kwok that
// scripts/cluster-build.sh builds from tools/kube/ into .cache/cluster-bin/, or, for
// kube-apiserver and etcd, $KUBEBUILDER_ASSETS; for the node tier also CoreDNS and the pause
// and probe image archives that scripts/node-build.sh makes.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * 'api': etcd + kube-apiserver. 'workload': also controller-manager, scheduler, kwok and nodes.
 * 'node': the workload tier plus one real node (kubelet, containerd, CNI, kube-proxy, CoreDNS).
 */
export type Tier = 'api' | 'workload' | 'node';

/** The repository root: the nearest directory up from cwd holding scripts/cluster-build.sh. */
export function repoRoot(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'cluster-build.sh'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** Where scripts/cluster-build.sh puts the binaries ($CLUSTER_BIN_DIR overrides). */
export function binDir(): string {
  return resolve(process.env.CLUSTER_BIN_DIR ?? join(repoRoot(), '.cache', 'cluster-bin'));
}

/** The command line (program and leading arguments) of each component. */
export interface Binaries {
  etcd: string[];
  apiserver: string[];
  controllerManager: string[];
  scheduler: string[];
  kwok: string[];
  kwokStages: string;
  kubelet: string[];
  kubeProxy: string[];
  coredns: string;
  /** OCI archives of the node tier's images */
  images: { pause: string; probe: string };
}

export class MissingBinariesError extends Error {}

/** Resolves the command line of each component; throws MissingBinariesError with the fix. */
export function findBinaries(tier: Tier): Binaries {
  const dir = binDir();
  const kube = join(dir, 'kube');
  const assets = process.env.KUBEBUILDER_ASSETS;
  const fromAssets = (name: string) => (assets && existsSync(join(assets, name)) ? [join(assets, name)] : undefined);
  const bins: Binaries = {
    etcd: fromAssets('etcd') ?? [kube, 'etcd'],
    apiserver: fromAssets('kube-apiserver') ?? [kube, 'kube-apiserver'],
    controllerManager: [kube, 'kube-controller-manager'],
    scheduler: [kube, 'kube-scheduler'],
    kwok: [join(dir, 'kwok')],
    kwokStages: join(dir, 'kwok-stages.yaml'),
    kubelet: [kube, 'kubelet'],
    kubeProxy: [kube, 'kube-proxy'],
    coredns: join(dir, 'coredns'),
    images: { pause: join(dir, 'images', 'pause.oci.tar'), probe: join(dir, 'images', 'probe.oci.tar') },
  };
  const needed =
    tier === 'api'
      ? [bins.etcd[0], bins.apiserver[0]]
      : [bins.etcd[0], bins.apiserver[0], kube, bins.kwok[0], bins.kwokStages];
  if (tier === 'node') {
    // the kubelet symlink exists only when `kube` was built with kubelet and kube-proxy in it
    needed.push(join(dir, 'kubelet'), bins.coredns, bins.images.pause, bins.images.probe);
  }
  const missing = [...new Set(needed)].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new MissingBinariesError(
      `test control plane binaries missing: ${missing.join(', ')}.\n` +
        `Build them with \`npm run cluster:build\` (needs Go >= 1.26 and the Go module proxy; the first build takes ` +
        `10-20 minutes)` +
        (tier === 'api' ? `, or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver and etcd.` : '.') +
        (tier === 'node'
          ? ' The node tier also needs `bash scripts/node-build.sh` (as root: Debian packages, CoreDNS, images).'
          : ''),
    );
  }
  return bins;
}
