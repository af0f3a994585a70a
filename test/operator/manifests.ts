// Applies synthesized manifests the way users do: `kubectl apply --server-side`. (client-node's
// KubernetesObjectApi re-serializes objects through its typed models, which silently drops
// CRD schema keys such as `default`; kubectl sends the YAML as written.)
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export function distObjects(file: string): Record<string, any>[] {
  return parseAllDocuments(readFileSync(join(process.cwd(), 'dist', file), 'utf8')).map((d) => d.toJS());
}

export function kubectlApply(kubeconfig: string, objects: object[], fieldManager = 'integration-test'): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', `--field-manager=${fieldManager}`, '-f', '-'], {
    input: objects.map((o) => stringify(o)).join('---\n'),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Applies the operator chart (Namespace, CRD, RBAC; not the Deployment, which needs the image) and waits for the CRD. */
export async function installOperatorPrerequisites(kubeconfig: string): Promise<void> {
  kubectlApply(kubeconfig, distObjects('memcached-operator.k8s.yaml').filter((o) => o.kind !== 'Deployment'));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = await ext.readCustomResourceDefinition({ name: 'memcacheds.cache.example.com' });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error('CRD memcacheds.cache.example.com not established');
    await new Promise((r) => setTimeout(r, 100));
  }
}
