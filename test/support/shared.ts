// For integration test files: the one workload-tier control plane that
// test/integration/global-setup.ts starts for the whole run (env TEST_KUBECONFIG,
// TEST_CLUSTER_SERVER, TEST_CLUSTER_PKI), test namespaces and restricted security contexts.
// (The wait helper is wait.ts.)
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { ClusterAccess } from '../../cluster/access';
import { loadPki } from '../../cluster/pki';
import { waitFor } from './wait';

export type { ClientKubeconfig, ServiceAccountTokenOptions } from '../../cluster/access';

let cached: ClusterAccess | undefined;

/** The shared cluster started by the integration global setup. */
export function sharedCluster(): ClusterAccess {
  if (cached) return cached;
  const kubeconfig = process.env.TEST_KUBECONFIG;
  const server = process.env.TEST_CLUSTER_SERVER;
  const pkiDir = process.env.TEST_CLUSTER_PKI;
  if (!kubeconfig || !server || !pkiDir) {
    throw new Error(
      'no shared test cluster: TEST_KUBECONFIG, TEST_CLUSTER_SERVER and TEST_CLUSTER_PKI are set by ' +
        'test/integration/global-setup.ts; run the suite with `npm run test:integration`',
    );
  }
  cached = new ClusterAccess(server, loadPki(pkiDir), kubeconfig, dirname(pkiDir));
  return cached;
}

/** A fresh admin KubeConfig for the shared cluster. */
export function kubeConfig(): k8s.KubeConfig {
  return sharedCluster().kubeConfig();
}

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

export interface TestNamespace {
  name: string;
  /** deletes the namespace (does not wait for finalization) */
  delete(): Promise<void>;
}

/**
 * Creates a uniquely named namespace labelled pod-security.kubernetes.io/enforce=<level>
 * (default restricted) and waits until its `default` ServiceAccount exists, so that pods can
 * be created in it straight away.
 */
export async function createTestNamespace(
  prefix = 'test',
  opts: {
    podSecurity?: PodSecurityLevel;
    labels?: Record<string, string>;
    /** the cluster to create it in (default: the shared control plane) */
    kubeConfig?: k8s.KubeConfig;
  } = {},
): Promise<TestNamespace> {
  const kc = opts.kubeConfig ?? kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const level = opts.podSecurity ?? 'restricted';
  const base =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'test';
  const name = `${base}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/warn': level,
          'pod-security.kubernetes.io/warn-version': 'latest',
          ...opts.labels,
        },
      },
    },
  });
  await waitFor(`ServiceAccount ${name}/default`, async () => {
    await core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
    return true;
  });
  return {
    name,
    delete: async () => {
      try {
        await core.deleteNamespace({ name });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    },
  };
}

/** A pod securityContext/container settings that satisfy the restricted Pod Security level. */
export const restrictedPodSecurityContext: k8s.V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const restrictedContainerSecurityContext: k8s.V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};
