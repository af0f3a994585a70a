// The lean loader of the API server settings: the same files as client-node's
// KubeConfig.loadFromDefault() (2.0.1), in its order:
//   1. KUBECONFIG, a list of paths (':'-separated; empty entries skipped): every file must
//      exist; the first is loaded and the others merged into it (a name used twice is an
//      error; a later file's current-context replaces an earlier one);
//   2. else $HOME/.kube/config, when it exists;
//   3. else the in-cluster service account, when its token file exists
//      (KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt});
//   4. else nothing: requests fail, naming what was looked for.
// A kubeconfig is handled here only when its current cluster uses nothing but server,
// certificate-authority(-data), insecure-skip-tls-verify and tls-server-name, and its user
// nothing but token, tokenFile, client-certificate(-data) and client-key(-data). Anything else
// (exec plugins, auth-provider, username/password, proxy-url, impersonation, unknown fields)
// goes to client-node's KubeConfig, loaded lazily (access.ts): nothing is silently ignored.
//
// Relative paths are resolved against the kubeconfig's directory. Files are re-read when they
// change (checked at most every FILE_CHECK_MS; a token file is also re-read at least every
// minute, as client-go does): rotated certificates and bound service account tokens take effect
// without a restart, and until they change every request gets the same TLS settings object.
import { Buffer } from 'node:buffer';
import { accessSync, readFileSync, statSync, type Stats } from 'node:fs';
import { isIPv6 } from 'node:net';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import {
  clientNodeAccess,
  type AccessDescription,
  type ClusterAccess,
  type Connection,
  type TlsSettings,
} from './access';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How often a file's status is checked for changes at most. */
export const FILE_CHECK_MS = 5_000;
/** A token file is re-read at least this often, changed or not (client-go: one minute). */
export const TOKEN_MAX_AGE_MS = 60_000;

export interface LoadOptions {
  /** Default process.env (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT). */
  env?: NodeJS.ProcessEnv;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
  /** Default Date.now (tests move time). */
  now?: () => number;
}

const CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions', // information for other tools; never changes the connection
]);
const USER_FIELDS = new Set([
  'token',
  'tokenFile',
  'token-file', // client-node's spelling
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'extensions',
]);

/** The API server settings of this process, by the default loading rules. */
export function loadClusterAccess(options: LoadOptions = {}): ClusterAccess {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter((f) => f);
    if (!files.length) throw new Error(`KUBECONFIG names no file: "${env.KUBECONFIG}"`);
    return kubeconfigAccess(files, now);
  }
  const home = env.HOME && accessible(env.HOME) ? env.HOME : undefined;
  if (home && accessible(join(home, '.kube', 'config'))) return kubeconfigAccess([join(home, '.kube', 'config')], now);
  if (accessible(join(saDir, 'token'))) return inClusterAccess(env, saDir, now);
  return failingAccess(
    { loader: 'lean', source: 'none' },
    `no API server configured: KUBECONFIG is not set, ${home ? `${join(home, '.kube', 'config')} does not exist` : 'HOME is not set'} and ${join(saDir, 'token')} does not exist (not in a cluster)`,
  );
}

/** The in-cluster service account, as client-node's loadFromCluster. */
function inClusterAccess(env: NodeJS.ProcessEnv, saDir: string, now: () => number): ClusterAccess {
  const description: AccessDescription = { loader: 'lean', source: 'in-cluster', auth: 'service account token' };
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    return failingAccess(description, 'in a cluster but KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set');
  }
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return new LeanAccess(
    {
      server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      caFile: join(saDir, 'ca.crt'),
      skipTLSVerify: false,
      tokenFile: join(saDir, 'token'),
    },
    description,
    now,
  );
}

interface Named<T> {
  name: string;
  value: T;
  /** Directory of the kubeconfig it came from (relative paths). */
  dir: string;
}

type Fields = Record<string, unknown>;

/** A kubeconfig (list): lean when its current context allows, else client-node. */
function kubeconfigAccess(files: string[], now: () => number): ClusterAccess {
  const source = files.join(delimiter);
  const clusters: Named<Fields>[] = [];
  const users: Named<Fields>[] = [];
  const contexts: Named<Fields>[] = [];
  let current: string | undefined;
  const unsupported: string[] = [];
  for (const file of files) {
    const dir = dirname(resolve(file));
    const config = parse(readFileSync(file, 'utf8')) as Fields | null;
    if (!config || typeof config !== 'object') throw new Error(`${file}: not a kubeconfig`);
    for (const key of Object.keys(config)) {
      if (
        ![
          'apiVersion',
          'kind',
          'clusters',
          'contexts',
          'users',
          'current-context',
          'preferences',
          'extensions',
        ].includes(key)
      )
        unsupported.push(key);
    }
    const add = (list: Named<Fields>[], what: string, entries: unknown, field: string) => {
      if (!Array.isArray(entries)) return;
      entries.forEach((e: Fields | null, i) => {
        if (!e?.name) throw new Error(`${file}: ${what}s[${i}].name is missing`);
        const value = e[field];
        // client-node: a cluster and a context need their body; a user may have none
        if (what !== 'user' && (!value || typeof value !== 'object'))
          throw new Error(`${file}: ${what}s[${i}].${field} is missing`);
        if (list.some((x) => x.name === e.name)) throw new Error(`Duplicate ${what}: ${String(e.name)}`);
        list.push({ name: String(e.name), value: (value ?? {}) as Fields, dir });
      });
    };
    add(clusters, 'cluster', config.clusters, 'cluster');
    add(users, 'user', config.users, 'user');
    add(contexts, 'context', config.contexts, 'context');
    clusters.forEach((c, i) => {
      if (!c.value.server) throw new Error(`${file}: clusters[${i}].cluster.server is missing`);
    });
    contexts.forEach((c, i) => {
      if (!c.value.cluster) throw new Error(`${file}: contexts[${i}].context.cluster is missing`);
    });
    if (config['current-context']) current = String(config['current-context']);
  }
  const context = contexts.find((c) => c.name === current);
  if (!context) return failingAccess({ loader: 'lean', source }, `kubeconfig ${source} has no current context`);
  const cluster = clusters.find((c) => c.name === context.value.cluster);
  if (!cluster) {
    return failingAccess(
      { loader: 'lean', source },
      `kubeconfig ${source}: context ${context.name} names cluster ${String(context.value.cluster)}, which it does not define`,
    );
  }
  const user = context.value.user ? users.find((u) => u.name === context.value.user) : undefined;
  // Keys without a value (e.g. `exec: null`, as some tools write) mean nothing, here as in client-node.
  const set = (o: Fields) => Object.keys(o).filter((k) => o[k] !== null && o[k] !== undefined && o[k] !== '');
  for (const key of set(cluster.value)) if (!CLUSTER_FIELDS.has(key)) unsupported.push(`cluster ${key}`);
  for (const key of set(user?.value ?? {})) if (!USER_FIELDS.has(key)) unsupported.push(`user ${key}`);
  const u = (user?.value ?? {}) as Record<string, string | undefined>;
  if (unsupported.length) {
    return clientNodeAccess(files, {
      loader: 'client-node',
      source,
      auth: authOf(u),
      reason: `not handled by the lean loader: ${unsupported.join(', ')}`,
    });
  }
  const c = cluster.value as Record<string, string | boolean | undefined>;
  const path = (dir: string, p: unknown) =>
    typeof p === 'string' && p ? (isAbsolute(p) ? p : join(dir, p)) : undefined;
  return new LeanAccess(
    {
      server: String(c.server).replace(/\/+$/, ''),
      caFile: path(cluster.dir, c['certificate-authority']),
      caData: c['certificate-authority-data'] as string | undefined,
      skipTLSVerify: c['insecure-skip-tls-verify'] === true,
      servername: (c['tls-server-name'] as string | undefined) || undefined,
      token: u.token || undefined,
      tokenFile: path(user?.dir ?? cluster.dir, u.tokenFile || u['token-file']),
      certFile: path(user?.dir ?? cluster.dir, u['client-certificate']),
      certData: u['client-certificate-data'],
      keyFile: path(user?.dir ?? cluster.dir, u['client-key']),
      keyData: u['client-key-data'],
    },
    { loader: 'lean', source, auth: authOf(u) },
    now,
  );
}

function authOf(user: Record<string, unknown>): string {
  if (user.exec) return 'exec plugin';
  if (user['auth-provider']) return 'auth provider';
  if (user.username) return 'basic';
  if (user.token) return 'token';
  if (user.tokenFile || user['token-file']) return 'token file';
  if (user['client-certificate'] || user['client-certificate-data']) return 'client certificate';
  return 'none';
}

/** The settings the lean loader understands, paths absolute. */
export interface LeanSettings {
  server: string;
  caFile?: string;
  caData?: string;
  skipTLSVerify: boolean;
  servername?: string;
  token?: string;
  tokenFile?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
}

/**
 * A ClusterAccess from static settings. The TLS settings object (and its key) stays the same
 * until a CA, certificate or key file changes; tokens travel in the Authorization header.
 */
export class LeanAccess implements ClusterAccess {
  private readonly ca: Source;
  private readonly cert: Source;
  private readonly key: Source;
  private readonly token: Source;
  private current: { ca?: Buffer; cert?: Buffer; clientKey?: Buffer; tls: TlsSettings; id: string } | undefined;
  private generation = 0;

  constructor(
    private readonly settings: LeanSettings,
    readonly description: AccessDescription,
    now: () => number = Date.now,
  ) {
    // client-node: a file wins over inline data
    this.ca = source(settings.caFile, settings.caData, FILE_CHECK_MS, now);
    this.cert = source(settings.certFile, settings.certData, FILE_CHECK_MS, now);
    this.key = source(settings.keyFile, settings.keyData, FILE_CHECK_MS, now);
    this.token = settings.token
      ? constant(Buffer.from(settings.token))
      : source(settings.tokenFile, undefined, FILE_CHECK_MS, now, TOKEN_MAX_AGE_MS);
  }

  async connection(): Promise<Connection> {
    const { server, skipTLSVerify, servername } = this.settings;
    if (server.startsWith('http:') && !skipTLSVerify) {
      // client-node's rule: no plain HTTP unless the kubeconfig says insecure-skip-tls-verify
      throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
    }
    const ca = this.ca();
    const cert = this.cert();
    const key = this.key();
    let current = this.current;
    if (!current || current.ca !== ca || current.cert !== cert || current.clientKey !== key) {
      const tls: TlsSettings = {};
      if (ca) tls.ca = ca;
      if (cert) tls.cert = cert;
      if (key) tls.key = key;
      if (servername) tls.servername = servername;
      if (skipTLSVerify) tls.rejectUnauthorized = false;
      current = this.current = { ca, cert, clientKey: key, tls, id: `${server}#${++this.generation}` };
    }
    const token = this.token()?.toString('utf8').trim();
    return { server, tls: current.tls, key: current.id, headers: token ? { Authorization: `Bearer ${token}` } : {} };
  }
}

/** The current content of a file or inline (base64) data; the same Buffer while unchanged. */
type Source = () => Buffer | undefined;

function constant(value: Buffer | undefined): Source {
  return () => value;
}

/**
 * `file` (re-read when its status changes, checked at most every `checkMs`, and at least every
 * `maxAgeMs`), else the base64 `data`. A failed re-read keeps the last content (a file being
 * replaced); the first read's error is thrown.
 */
function source(
  file: string | undefined,
  data: string | undefined,
  checkMs: number,
  now: () => number,
  maxAgeMs = Infinity,
): Source {
  if (!file) return constant(data ? Buffer.from(data, 'base64') : undefined);
  let content: Buffer | undefined;
  let stamp = '';
  let checkedAt = -Infinity;
  let readAt = -Infinity;
  return () => {
    const t = now();
    if (content && t - checkedAt < checkMs && t - readAt < maxAgeMs) return content;
    checkedAt = t;
    try {
      const s = stampOf(statSync(file));
      if (content && s === stamp && t - readAt < maxAgeMs) return content;
      const next = readFileSync(file);
      readAt = t;
      stamp = s;
      if (!content || !next.equals(content)) content = next;
    } catch (err) {
      if (!content) throw err;
    }
    return content;
  };
}

function stampOf(s: Stats): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

function accessible(path: string): boolean {
  try {
    accessSync(path);
    return true;
  } catch {
    return false;
  }
}

/** An access whose every request fails with `message` (as client-node's would, without a usable config). */
function failingAccess(description: AccessDescription, message: string): ClusterAccess {
  return {
    description,
    connection: () => Promise.reject(new Error(message)),
  };
}
