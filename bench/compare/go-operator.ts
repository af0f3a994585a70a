// The operator-sdk Go Memcached sample as an operator under test (bench/operator/subject.ts):
// the manager that scripts/anchor-build.sh compiled from a copy of the sample, its own CRD and
// its manager + leader-election RBAC as `make deploy` would name them (kustomize's namespace
// and name prefix), run out of cluster under a bound token of its ServiceAccount.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import YAML from 'yaml';
import { repoRoot } from '../../cluster/controlplane';
import { kubectlApply } from '../../cluster/operator-manifests';
import { freePort } from '../../cluster/processes';
import { sleep } from '../../cluster/wait';
import { componentPids } from '../operator/metrics';
import type { Options } from '../operator/options';
import type { BenchOperator, RunEnv } from '../operator/setup';
import type { Subject } from '../operator/subject';

/** What `make deploy` sets: namespace and name prefix of config/default/kustomization.yaml. */
export const GO_NAMESPACE = 'memcached-operator-system';
export const GO_PREFIX = 'memcached-operator-';
export const GO_SA = `${GO_PREFIX}controller-manager`;
/** the image config/manager/manager.yaml gives MEMCACHED_IMAGE (kwok runs no containers) */
export const GO_MEMCACHED_IMAGE = 'memcached:1.4.36-alpine';

export const anchorBinDir = () => process.env.ANCHOR_BIN_DIR ?? join(repoRoot(), '.cache/anchor-bin');

/** Builds the manager when its stamp is stale (a no-op otherwise); throws when the build fails. */
export function buildGoOperator(): void {
  execFileSync('bash', [join(repoRoot(), 'scripts/anchor-build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'CustomResourceDefinition']);

/**
 * The Go sample's manifests as kustomize renders config/default: every RBAC object and the
 * ServiceAccount prefixed and placed in `namespace`, binding subjects and role references
 * renamed the same way; plus the Namespace and the CRD as shipped.
 */
export function goManifests(
  crdYaml: string,
  rbacYamls: readonly string[],
  namespace = GO_NAMESPACE,
  prefix = GO_PREFIX,
): any[] {
  const objects: any[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }];
  objects.push(
    ...YAML.parseAllDocuments(crdYaml)
      .map((d) => d.toJS())
      .filter(Boolean),
  );
  for (const text of rbacYamls) {
    for (const doc of YAML.parseAllDocuments(text)) {
      const o = doc.toJS();
      if (!o?.kind) continue;
      o.metadata = { ...o.metadata, name: `${prefix}${o.metadata.name}` };
      if (CLUSTER_SCOPED.has(o.kind)) delete o.metadata.namespace;
      else o.metadata.namespace = namespace;
      if (o.roleRef) o.roleRef = { ...o.roleRef, name: `${prefix}${o.roleRef.name}` };
      if (o.subjects)
        o.subjects = o.subjects.map((s: any) =>
          s.kind === 'ServiceAccount' ? { ...s, name: `${prefix}${s.name}`, namespace } : s,
        );
      objects.push(o);
    }
  }
  return objects;
}

/**
 * Its status has no observedGeneration: a Memcached is done when `Available` is True with the
 * message it writes once the Deployment has `size` replicas ("... with <size> replicas ...").
 */
export function goCrReady(_tier: Options['tier'], o: any, size: number): boolean {
  if (o.spec?.size !== size) return false;
  const available = (o.status?.conditions ?? []).find((c: any) => c.type === 'Available');
  return available?.status === 'True' && new RegExp(`\\bwith ${size} replicas\\b`).test(available.message ?? '');
}

async function install(cp: { kubeconfigPath: string }): Promise<void> {
  const dir = anchorBinDir();
  const rbac = ['service_account', 'role', 'role_binding', 'leader_election_role', 'leader_election_role_binding'].map(
    (f) => readFileSync(join(dir, 'rbac', `${f}.yaml`), 'utf8'),
  );
  const objects = goManifests(readFileSync(join(dir, 'crd.yaml'), 'utf8'), rbac);
  kubectlApply(cp.kubeconfigPath, objects, 'bench-compare');
  const crd = objects.find((o) => o.kind === 'CustomResourceDefinition');
  execFileSync(
    'kubectl',
    [
      '--kubeconfig',
      cp.kubeconfigPath,
      'wait',
      '--for=condition=established',
      '--timeout=60s',
      `crd/${crd.metadata.name}`,
    ],
    { stdio: 'pipe' },
  );
}

/** Starts the manager (one reconcile worker, its default) and waits for "Starting workers". */
async function start(_opts: Options, env: RunEnv, _n: number, _workers: number, _run: number): Promise<BenchOperator> {
  const [metricsPort, probePort] = [await freePort(), await freePort()];
  const bin = join(anchorBinDir(), 'memcached-go-manager');
  const args = [
    `--kubeconfig=${env.saKubeconfig}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    '--metrics-secure=false', // plain HTTP, as the benchmark scrapes ours
    `--health-probe-bind-address=127.0.0.1:${probePort}`,
    // no --leader-elect: out of cluster controller-runtime cannot find the namespace for its lease
  ];
  const started = performance.now();
  const startedWall = Date.now();
  // ENABLE_WEBHOOKS=false as `make run` sets it: its defaulting/validating webhooks need serving
  // certificates and an apiserver that can call them; the benchmark sends valid objects.
  const procEnv = { PATH: process.env.PATH, MEMCACHED_IMAGE: GO_MEMCACHED_IMAGE, ENABLE_WEBHOOKS: 'false' };
  const proc = spawn(bin, args, { env: procEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const keep = (c: string) => {
    out.push(c);
    if (out.length > 400) out.splice(0, out.length - 400);
  };
  proc.stdout!.setEncoding('utf8').on('data', keep);
  proc.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  env.op = {
    proc,
    stop: async (signal = 'SIGTERM') => (
      proc.exitCode === null && proc.signalCode === null && proc.kill(signal),
      exited
    ),
  };
  const tail = () => out.join('').split('\n').slice(-25).join('\n');
  const deadline = Date.now() + 120_000;
  while (!out.join('').includes('Starting workers')) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(
        `the Go sample exited (${proc.exitCode ?? proc.signalCode}) before starting its workers:\n${tail()}`,
      );
    if (Date.now() > deadline) throw new Error(`the Go sample did not start its workers in 120 s:\n${tail()}`);
    await sleep(100);
  }
  const startMs = performance.now() - started;
  const check = () => {
    if (proc.exitCode === null && proc.signalCode === null) return;
    throw new Error(
      `the Go sample exited (code ${proc.exitCode}, signal ${proc.signalCode}); its last log lines:\n${tail()}`,
    );
  };
  await sleep(1000);
  return {
    pid: proc.pid!,
    metricsPort,
    startMs,
    startedWall,
    limits: {},
    components: componentPids(env.cp!.dir, proc.pid!),
    check,
  };
}

export const goSample: Subject = {
  name: 'go',
  namespace: GO_NAMESPACE,
  serviceAccount: GO_SA,
  user: `system:serviceaccount:${GO_NAMESPACE}:${GO_SA}`,
  install,
  start,
  crReady: goCrReady,
};
