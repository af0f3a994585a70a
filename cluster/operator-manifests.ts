// The operator's prerequisites (Namespace, CRD, RBAC from dist/) for the operator tests and the
// benchmark, and kubectl helpers. Manifests are applied the way users do: `kubectl apply
// --server-side`. (client-node's KubernetesObjectApi re-serializes objects through its typed
// models, which silently drops CRD schema keys such as `default`; kubectl sends the YAML as
// written.)
import * as k8s from '@kubernetes/client-node';
import { execFileSync, spawn } from 'node:child_process';
import { loadDist } from './dist';
import { waitFor } from './wait';

export function kubectlApply(kubeconfig: string, objects: object[], fieldManager = 'integration-test'): string {
  return execFileSync(
    'kubectl',
    [
      '--kubeconfig',
      kubeconfig,
      'apply',
      '--server-side',
      '--force-conflicts',
      `--field-manager=${fieldManager}`,
      '-f',
      '-',
    ],
    {
      // One JSON List: kubectl reads YAML as 1.1, where an unquoted `no` would become false.
      input: toKubectlStream(objects),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
}

/** Applies the operator chart (Namespace, CRD, RBAC; not the Deployment, which needs the image) and waits for the CRD. */
export async function installOperatorPrerequisites(kubeconfig: string): Promise<void> {
  kubectlApply(
    kubeconfig,
    loadDist('memcached-operator').filter((o) => o.kind !== 'Deployment'),
  );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  await waitFor(
    'CRD memcacheds.cache.example.com Established',
    async () => {
      const crd = await ext.readCustomResourceDefinition({ name: 'memcacheds.cache.example.com' });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/** The outcome of one kubectl run: nothing is thrown for a non-zero exit. */
export interface KubectlResult {
  /** exit code (null if kubectl was killed) */
  code: number | null;
  stdout: string;
  /** kubectl prints the API server's warnings here, as `Warning: ...` lines */
  stderr: string;
}

/** Runs `kubectl --kubeconfig <kubeconfig> <args>` with `input` on stdin; never throws on a non-zero exit. */
export function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<KubectlResult> {
  return new Promise((done, fail) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/**
 * Objects as one stream for kubectl: a JSON v1 List (kubectl applies its items one by one).
 * JSON, not YAML: `yaml`'s stringify writes YAML 1.2, where `no`, `yes`, `on`, `off` are
 * plain strings and stay unquoted, and kubectl's YAML 1.1 decoder then reads them as
 * booleans (redis' `--protected-mode "no"` becomes `false` and the apply fails).
 */
export function toKubectlStream(objects: readonly object[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
}

/**
 * `kubectl apply --server-side` like kubectlApply, but returning stdout, stderr (the API
 * server's warnings, e.g. Pod Security's `Warning: would violate PodSecurity ...`) and the
 * exit code instead of throwing. `extraArgs` e.g. ['--dry-run=server'].
 */
export function kubectlApplyResult(
  kubeconfig: string,
  objects: readonly object[],
  { fieldManager = 'integration-test', extraArgs = [] }: { fieldManager?: string; extraArgs?: readonly string[] } = {},
): Promise<KubectlResult> {
  return kubectl(
    kubeconfig,
    ['apply', '--server-side', '--force-conflicts', `--field-manager=${fieldManager}`, ...extraArgs, '-f', '-'],
    toKubectlStream(objects),
  );
}
