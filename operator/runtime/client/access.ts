// How the runtime reaches the API server: its URL, the TLS settings of the connection and the
// headers (Authorization) of each request. Two kinds of ClusterAccess:
//   - the lean loader (kubeconfig-loader.ts) for the usual static cases: in-cluster service
//     account, or a kubeconfig with a server, CA, client certificate or (file) token;
//   - @kubernetes/client-node's KubeConfig for everything else (exec plugins, auth providers,
//     basic auth, proxies, impersonation), loaded only when needed: importing client-node costs
//     about 25 MiB of resident memory (its undici and generated API), which an operator that
//     only needs a token or a certificate should not pay.
// Callers may also pass a client-node KubeConfig object (tests, tools): it is adapted
// structurally, so this module does not load client-node either.
import { Buffer } from 'node:buffer';
import type { Agent } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { settingsKey } from './kube-config';

/** TLS options of the connection (node:tls / https.Agent options). */
export interface TlsSettings {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  pfx?: Buffer | string;
  passphrase?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

/** What one request needs. */
export interface Connection {
  /** Server URL without a trailing slash, e.g. "https://10.96.0.1:443". */
  server: string;
  tls: TlsSettings;
  /**
   * Identifies `server` + `tls`: the transport keeps one keep-alive Agent per key and replaces
   * it (closing the old one once idle) when the key changes, e.g. after a rotated certificate.
   */
  key: string;
  /** Request headers, e.g. Authorization. */
  headers: Record<string, string>;
  /** An agent that must be used instead of the transport's own (client-node's proxy agents). */
  agent?: Agent;
}

export interface ClusterAccess {
  /** For the start log line: which loader and source, e.g. "kubeconfig /home/x/.kube/config". */
  readonly description: AccessDescription;
  /** The settings of the next request; cheap when nothing changed (the same `key`). */
  connection(): Promise<Connection>;
}

export interface AccessDescription {
  /** lean: this package's loader; client-node: @kubernetes/client-node's KubeConfig. */
  loader: 'lean' | 'client-node';
  /** Where the settings come from: in-cluster, a kubeconfig path list, or a KubeConfig object. */
  source: string;
  /** How requests authenticate, e.g. "client certificate", "token file", "exec plugin". */
  auth?: string;
  /** Why the client-node loader was needed (the kubeconfig fields the lean one does not handle). */
  reason?: string;
}

/** The part of client-node's KubeConfig the runtime uses (type only: nothing is loaded). */
export type KubeConfigLike = Pick<KubeConfig, 'getCurrentCluster' | 'applyToHTTPSOptions'>;

/** What the runtime's requests accept: a ClusterAccess, or a client-node KubeConfig. */
export type KubeAccess = ClusterAccess | KubeConfigLike;

const adapted = new WeakMap<KubeConfigLike, ClusterAccess>();

/** The ClusterAccess of `target`; one per KubeConfig object (so its requests share connections). */
export function clusterAccess(target: KubeAccess): ClusterAccess {
  if (typeof (target as Partial<ClusterAccess>).connection === 'function') return target as ClusterAccess;
  const kc = target as KubeConfigLike;
  let access = adapted.get(kc);
  if (!access) {
    access = new KubeConfigAccess(() => kc, { loader: 'client-node', source: 'KubeConfig object' });
    adapted.set(kc, access);
  }
  return access;
}

/** The https options client-node's applyToHTTPSOptions fills in. */
interface HttpsOptions extends TlsSettings {
  headers?: Record<string, string | number | string[] | undefined>;
  auth?: string;
  agent?: Agent | boolean;
}

/**
 * A ClusterAccess over a client-node KubeConfig: KubeConfig.applyToHTTPSOptions gives the TLS
 * options and headers of every request (it runs exec plugins, refreshes auth provider tokens,
 * reads certificate files), as client-node's own requests do. The agent it makes is not used
 * (the transport keeps its own, per TLS setting), except a proxy agent (proxy-url).
 */
export class KubeConfigAccess implements ClusterAccess {
  private loaded: Promise<KubeConfigLike> | undefined;

  constructor(
    private readonly load: () => KubeConfigLike | Promise<KubeConfigLike>,
    readonly description: AccessDescription,
  ) {}

  async connection(): Promise<Connection> {
    this.loaded ??= Promise.resolve().then(this.load);
    let kc: KubeConfigLike;
    try {
      kc = await this.loaded;
    } catch (err) {
      this.loaded = undefined; // try again on the next request
      throw err;
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts: HttpsOptions = {};
    await kc.applyToHTTPSOptions(opts as Parameters<KubeConfigLike['applyToHTTPSOptions']>[0]);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    if (opts.auth && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
      headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    }
    const tls: TlsSettings = {};
    for (const name of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized'] as const) {
      if (opts[name] !== undefined) (tls as Record<string, unknown>)[name] = opts[name];
    }
    const server = cluster.server.replace(/\/+$/, '');
    // A proxy (proxy-url) needs client-node's proxy agent; it caches that per cluster and user.
    const agent = cluster.proxyUrl && typeof opts.agent === 'object' ? opts.agent : undefined;
    return { server, tls, key: settingsKey({ server, tls, proxy: cluster.proxyUrl ?? null }), headers, agent };
  }
}

/**
 * The client-node fallback for kubeconfig `files` (the KUBECONFIG list or ~/.kube/config, as the
 * lean loader chose them): the lazily imported KubeConfig loads them as its loadFromDefault()
 * does (the first file, then each other merged into it).
 */
export function clientNodeAccess(files: string[], description: AccessDescription): ClusterAccess {
  return new KubeConfigAccess(async () => {
    // A module of its own: the operator bundle keeps it in a separate file (scripts/bundle.mjs)
    // that is read only here.
    const { KubeConfig } = await import('./client-node-module');
    const kc = new KubeConfig();
    kc.loadFromFile(files[0]);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more);
    }
    return kc;
  }, description);
}
