// Credentials and raw requests for a running test control plane. Used by the process that
// owns the control plane (controlplane.ts) and by test workers that only know its admin
// kubeconfig and PKI directory (shared.ts).
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import YAML from 'yaml';
import { clientCert, type Pki } from './pki';

/** A kubeconfig written to disk and the same loaded as a client-node KubeConfig. */
export interface ClientKubeconfig {
  path: string;
  kubeConfig: k8s.KubeConfig;
}

export interface ServiceAccountTokenOptions {
  /** token lifetime; the apiserver's minimum is 600 s. Default 3600. */
  expirationSeconds?: number;
  /** default: the apiserver's own audience */
  audiences?: string[];
  /** create the ServiceAccount when it does not exist (default true) */
  create?: boolean;
}

type KubeconfigUser = { 'client-certificate-data': string; 'client-key-data': string } | { token: string };

const b64 = (path: string) => readFileSync(path).toString('base64');

export function kubeconfigDocument(
  server: string,
  caCert: string,
  name: string,
  user: KubeconfigUser,
  namespace?: string,
) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64(caCert) } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: 'test', user: name, ...(namespace ? { namespace } : {}) } }],
    'current-context': name,
  };
}

export function certUser(cert: string, key: string): KubeconfigUser {
  return { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) };
}

export async function writeKubeconfig(path: string, doc: object): Promise<void> {
  await writeFile(path, YAML.stringify(doc), { mode: 0o600 });
}

function loadKubeConfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export class ClusterAccess {
  private readonly kubeconfigDir: string;

  constructor(
    /** https://127.0.0.1:<port> */
    readonly server: string,
    readonly pki: Pki,
    /** admin (system:masters) kubeconfig */
    readonly kubeconfigPath: string,
    workDir: string,
  ) {
    this.kubeconfigDir = join(workDir, 'kubeconfigs');
    mkdirSync(this.kubeconfigDir, { recursive: true });
  }

  /** A fresh admin KubeConfig (system:masters). */
  kubeConfig(): k8s.KubeConfig {
    return loadKubeConfig(this.kubeconfigPath);
  }

  /** A kubeconfig authenticating as `user` in `groups` with a client certificate (no rights unless RBAC grants them). */
  async userKubeconfig(user: string, groups: readonly string[] = [], namespace?: string): Promise<ClientKubeconfig> {
    const { cert, key } = await clientCert(this.pki, user, groups);
    const path = this.kubeconfigFile(`user-${user}`);
    await writeKubeconfig(path, kubeconfigDocument(this.server, this.pki.caCert, user, certUser(cert, key), namespace));
    return { path, kubeConfig: loadKubeConfig(path) };
  }

  /** A kubeconfig holding a bound token for ServiceAccount `namespace/name` (TokenRequest API). */
  async serviceAccountKubeconfig(
    namespace: string,
    name: string,
    opts: ServiceAccountTokenOptions = {},
  ): Promise<ClientKubeconfig> {
    const core = this.kubeConfig().makeApiClient(k8s.CoreV1Api);
    if (opts.create ?? true) {
      try {
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
    const tr = await core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: { spec: { expirationSeconds: opts.expirationSeconds ?? 3600, audiences: opts.audiences ?? [] } },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
    const user = `system:serviceaccount:${namespace}:${name}`;
    const path = this.kubeconfigFile(`sa-${namespace}-${name}`);
    await writeKubeconfig(path, kubeconfigDocument(this.server, this.pki.caCert, user, { token }, namespace));
    return { path, kubeConfig: loadKubeConfig(path) };
  }

  /** GET `path` on the apiserver as admin. */
  get(path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
    return httpsGet(
      new URL(path, this.server),
      {
        ca: readFileSync(this.pki.caCert),
        cert: readFileSync(this.pki.adminCert),
        key: readFileSync(this.pki.adminKey),
      },
      timeoutMs,
    );
  }

  /** The apiserver's /metrics (Prometheus text format), as admin. */
  async apiserverMetrics(): Promise<string> {
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    return res.body;
  }

  private kubeconfigFile(label: string): string {
    const safe = label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
    return join(this.kubeconfigDir, `${safe}-${process.pid}-${randomBytes(3).toString('hex')}.yaml`);
  }
}

export function httpsGet(
  url: URL,
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer },
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.pathname}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
