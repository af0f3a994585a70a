// The lean loader of the API server settings (operator/runtime/client/kubeconfig-loader.ts):
// which files it reads and in which order, which kubeconfig shapes it handles itself and which
// go to client-node's KubeConfig (loaded lazily), relative paths, and re-reading rotated files.
// Requests go to a local HTTPS server that reports what it saw (the path, the Authorization
// header, the client certificate's CN): what is tested is the client side, not API behaviour.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createPki, type Pki } from '../../../../../cluster/pki';
import { clusterAccess } from '../../../../../operator/runtime/client/access';
import { kubeRequest } from '../../../../../operator/runtime/client/kube-request';
import { closeLocal, listenLocal } from './local-server';
import {
  FILE_CHECK_MS,
  loadClusterAccess,
  TOKEN_MAX_AGE_MS,
} from '../../../../../operator/runtime/client/kubeconfig-loader';

let dir: string;
let pki: Pki;
let server: https.Server;
let url: string;

interface Seen {
  path: string;
  auth: string | null;
  cn: string | null;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubeconfig-loader-'));
  mkdirSync(join(dir, 'pki'));
  pki = await createPki(join(dir, 'pki'));
  server = https.createServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ca: readFileSync(pki.caCert),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      const seen: Seen = {
        path: req.url!,
        auth: req.headers.authorization ?? null,
        cn: peer?.subject?.CN ? String(peer.subject.CN) : null,
      };
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(seen));
    },
  );
  url = await listenLocal(server);
});

afterAll(async () => {
  await closeLocal(server);
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
/** A fresh directory holding copies of the CA and the admin client certificate and key. */
function configDir(): string {
  const d = join(dir, `case-${++serial}`);
  mkdirSync(join(d, 'certs'), { recursive: true });
  copyFileSync(pki.caCert, join(d, 'certs', 'ca.crt'));
  copyFileSync(pki.adminCert, join(d, 'certs', 'admin.crt'));
  copyFileSync(pki.adminKey, join(d, 'certs', 'admin.key'));
  return d;
}

function kubeconfig(
  d: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = { 'certificate-authority': 'certs/ca.crt' },
  name = 'config',
): string {
  const file = join(d, name);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      clusters: [{ name: 'c', cluster: { server: url, ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'ns' } }],
    }),
  );
  return file;
}

const get = (access: ReturnType<typeof loadClusterAccess>, path = '/api') =>
  kubeRequest<Seen>(access, { method: 'GET', path });

describe('which kubeconfig shapes the lean loader handles', () => {
  it('a client certificate with relative paths (resolved against the kubeconfig, not the working directory)', async () => {
    const d = configDir();
    const file = kubeconfig(d, { 'client-certificate': 'certs/admin.crt', 'client-key': 'certs/admin.key' });
    const access = loadClusterAccess({ env: { KUBECONFIG: file } });
    expect(access.description).toEqual({ loader: 'lean', source: file, auth: 'client certificate' });
    await expect(get(access)).resolves.toEqual({ path: '/api', auth: null, cn: 'kubernetes-admin' });
  });

  it('inline data: certificate-authority-data, client-certificate-data, client-key-data; tls-server-name', async () => {
    const d = configDir();
    const b64 = (p: string) => readFileSync(p).toString('base64');
    const file = kubeconfig(
      d,
      { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) },
      { 'certificate-authority-data': b64(pki.caCert), 'tls-server-name': 'localhost' },
    );
    const access = loadClusterAccess({ env: { KUBECONFIG: file } });
    expect(access.description.loader).toBe('lean');
    await expect(get(access)).resolves.toMatchObject({ cn: 'kubernetes-admin' });
    // the name is checked: one the serving certificate does not carry fails
    const wrong = kubeconfig(
      d,
      { token: 't' },
      { 'certificate-authority': 'certs/ca.crt', 'tls-server-name': 'x.invalid' },
      'wrong',
    );
    await expect(get(loadClusterAccess({ env: { KUBECONFIG: wrong } }))).rejects.toThrow(/x\.invalid/);
  });

  it('a token; insecure-skip-tls-verify without a CA', async () => {
    const d = configDir();
    const file = kubeconfig(d, { token: 'static-token' }, { 'insecure-skip-tls-verify': true });
    const access = loadClusterAccess({ env: { KUBECONFIG: file } });
    expect(access.description).toMatchObject({ loader: 'lean', auth: 'token' });
    await expect(get(access)).resolves.toMatchObject({ auth: 'Bearer static-token', cn: null });
  });

  it('a token file (relative), re-read when it changes, at most every FILE_CHECK_MS', async () => {
    const d = configDir();
    writeFileSync(join(d, 'token'), 'first-token\n');
    const file = kubeconfig(d, { tokenFile: 'token' });
    let now = 1_000_000;
    const access = loadClusterAccess({ env: { KUBECONFIG: file }, now: () => now });
    expect(access.description).toMatchObject({ loader: 'lean', auth: 'token file' });
    await expect(get(access)).resolves.toMatchObject({ auth: 'Bearer first-token' });
    writeFileSync(join(d, 'token'), 'second-token-longer\n');
    now += FILE_CHECK_MS - 1;
    await expect(get(access)).resolves.toMatchObject({ auth: 'Bearer first-token' }); // not checked yet
    now += 1;
    await expect(get(access)).resolves.toMatchObject({ auth: 'Bearer second-token-longer' });
    // a file being replaced (missing for a moment) keeps the last token
    rmSync(join(d, 'token'));
    now += TOKEN_MAX_AGE_MS;
    await expect(get(access)).resolves.toMatchObject({ auth: 'Bearer second-token-longer' });
  });

  it('the TLS settings stay the same object until a file changes (one connection), then change', async () => {
    const d = configDir();
    const file = kubeconfig(d, { 'client-certificate': 'certs/admin.crt', 'client-key': 'certs/admin.key' });
    let now = 0;
    const access = loadClusterAccess({ env: { KUBECONFIG: file }, now: () => now });
    const first = await access.connection();
    now += FILE_CHECK_MS;
    const same = await access.connection();
    expect(same.tls).toBe(first.tls);
    expect(same.key).toBe(first.key);
    // the same content rewritten: still the same settings
    writeFileSync(join(d, 'certs', 'ca.crt'), readFileSync(pki.caCert));
    now += FILE_CHECK_MS;
    expect((await access.connection()).key).toBe(first.key);
    // a rotated CA bundle (an extra line) is new settings
    writeFileSync(join(d, 'certs', 'ca.crt'), Buffer.concat([readFileSync(pki.caCert), Buffer.from('\n')]));
    now += FILE_CHECK_MS;
    const rotated = await access.connection();
    expect(rotated.key).not.toBe(first.key);
    expect(rotated.tls).not.toBe(first.tls);
  });

  it('a plain http server needs insecure-skip-tls-verify, as with client-node', async () => {
    const d = configDir();
    const file = kubeconfig(d, { token: 't' }, {});
    const yaml = readFileSync(file, 'utf8').replace(url, 'http://127.0.0.1:1');
    writeFileSync(file, yaml);
    await expect(loadClusterAccess({ env: { KUBECONFIG: file } }).connection()).rejects.toThrow(
      'HTTP protocol is not allowed when skipTLSVerify is not set or false',
    );
  });

  it.each([
    ['an exec plugin', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } }, {}, 'user exec'],
    ['an auth provider', { 'auth-provider': { name: 'oidc', config: {} } }, {}, 'user auth-provider'],
    ['basic auth', { username: 'a', password: 'b' }, {}, 'user username, user password'],
    ['impersonation', { token: 't', as: 'someone' }, {}, 'user as'],
    ['a proxy', { token: 't' }, { 'proxy-url': 'http://127.0.0.1:3128' }, 'cluster proxy-url'],
    ['an unknown cluster field', { token: 't' }, { 'disable-compression': true }, 'cluster disable-compression'],
  ])('%s goes to client-node, naming what the lean loader does not handle', (_what, user, cluster, reason) => {
    const d = configDir();
    const file = kubeconfig(d, user, { 'certificate-authority': 'certs/ca.crt', ...cluster });
    const access = loadClusterAccess({ env: { KUBECONFIG: file } });
    expect(access.description).toMatchObject({
      loader: 'client-node',
      source: file,
      reason: `not handled by the lean loader: ${reason}`,
    });
  });

  it('fields without a value (exec: null) and extensions are not a reason for client-node', () => {
    const d = configDir();
    const file = kubeconfig(
      d,
      { token: 't', exec: null, extensions: [] },
      { 'certificate-authority': 'certs/ca.crt', extensions: [] },
    );
    expect(loadClusterAccess({ env: { KUBECONFIG: file } }).description.loader).toBe('lean');
  });

  it('an exec plugin works through client-node', async () => {
    const d = configDir();
    const plugin = join(d, 'credential.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const file = kubeconfig(d, {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' },
    });
    const access = loadClusterAccess({ env: { KUBECONFIG: file } });
    expect(access.description).toMatchObject({ loader: 'client-node', auth: 'exec plugin' });
    await expect(get(access)).resolves.toMatchObject({ auth: 'Bearer from-exec' });
  });
});

describe('which files are read, in loadFromDefault order', () => {
  it('KUBECONFIG first, then $HOME/.kube/config, then the in-cluster service account, else an error on use', async () => {
    const home = configDir();
    mkdirSync(join(home, '.kube'));
    kubeconfig(home, { token: 'home' }, { 'certificate-authority': join(home, 'certs', 'ca.crt') }, '.kube/config');
    const other = kubeconfig(configDir(), { token: 'env' });
    const sa = join(configDir(), 'sa');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token');
    copyFileSync(pki.caCert, join(sa, 'ca.crt'));
    const port = new URL(url).port;
    const inCluster = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port };

    const load = (env: NodeJS.ProcessEnv) => loadClusterAccess({ env, serviceAccountDir: sa });
    expect(load({ KUBECONFIG: other, HOME: home, ...inCluster }).description.source).toBe(other);
    expect(load({ HOME: home, ...inCluster }).description.source).toBe(join(home, '.kube', 'config'));
    const cluster = load({ HOME: join(home, 'certs'), ...inCluster });
    expect(cluster.description).toEqual({ loader: 'lean', source: 'in-cluster', auth: 'service account token' });
    await expect(get(cluster)).resolves.toMatchObject({ auth: 'Bearer sa-token' });
    expect(
      (await load({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }).connection()).server,
    ).toBe('https://[fd00::1]:443');
    const none = loadClusterAccess({ env: { HOME: join(home, 'certs') }, serviceAccountDir: join(sa, 'missing') });
    await expect(none.connection()).rejects.toThrow(/no API server configured: KUBECONFIG is not set/);
  });

  it("a KUBECONFIG list: merged, a later file's current-context wins, a name defined twice is an error", async () => {
    const a = configDir();
    const first = kubeconfig(a, { token: 'first' });
    const b = configDir();
    const second = join(b, 'second');
    writeFileSync(
      second,
      stringify({
        'current-context': 'other',
        clusters: [{ name: 'c2', cluster: { server: url, 'certificate-authority': 'certs/ca.crt' } }],
        users: [{ name: 'u2', user: { tokenFile: 'token' } }],
        contexts: [{ name: 'other', context: { cluster: 'c2', user: 'u2' } }],
      }),
    );
    writeFileSync(join(b, 'token'), 'second');
    const access = loadClusterAccess({ env: { KUBECONFIG: `${first}::${second}` } });
    expect(access.description).toMatchObject({ loader: 'lean', source: `${first}:${second}`, auth: 'token file' });
    await expect(get(access)).resolves.toMatchObject({ auth: 'Bearer second' });
    expect(() => loadClusterAccess({ env: { KUBECONFIG: `${first}:${first}` } })).toThrow('Duplicate cluster: c');
    expect(() => loadClusterAccess({ env: { KUBECONFIG: join(a, 'missing') } })).toThrow(/ENOENT/);
  });

  it('the adapter gives one access per client-node KubeConfig object', async () => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    expect(clusterAccess(kc)).toBe(clusterAccess(kc));
    expect(clusterAccess(kc).description).toEqual({ loader: 'client-node', source: 'KubeConfig object' });
  });
});
