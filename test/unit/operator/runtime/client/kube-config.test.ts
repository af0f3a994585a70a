// Connection reuse: the runtime's requests (transport.ts) share one kept TLS connection per
// access and TLS setting, and changed TLS settings (a rotated CA file) get a fresh one while the
// old connection lives until its last request ends; client-node's own typed clients share one
// only with reuseConnections (kube-config.ts), which tests and benchmarks use. The server is a
// local HTTPS server that counts handshakes: what is tested is the client's connection
// handling, not API behaviour.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reuseConnections, settingsKey } from '../../../../../operator/runtime/client/kube-config';
import { kubeRequest } from '../../../../../operator/runtime/client/kube-request';
import { LeanAccess } from '../../../../../operator/runtime/client/kubeconfig-loader';
import { watchStream } from '../../../../../operator/runtime/client/watch-stream';
import { createPki } from '../../../../../cluster/pki';
import { closeLocal, listenLocal } from './local-server';

let dir: string;
let server: https.Server;
let handshakes = 0;
const sockets: Socket[] = [];
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kube-config-'));
  const pki = await createPki(dir);
  copyFileSync(pki.caCert, join(dir, 'client-ca.crt'));
  server = https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
    res.setHeader('Content-Type', 'application/json');
    if (req.url?.includes('watch=true')) {
      res.writeHead(200).flushHeaders(); // a watch: open until the client goes away
      return;
    }
    if (req.url?.startsWith('/missing')) {
      res.writeHead(404).end(JSON.stringify({ kind: 'Status', code: 404, message: 'not here', reason: 'NotFound' }));
      return;
    }
    res.end(JSON.stringify({ kind: 'Status', path: req.url, auth: req.headers.authorization ?? null }));
  });
  server.on('secureConnection', (s: Socket) => {
    handshakes++;
    sockets.push(s);
  });
  url = await listenLocal(server);
});

afterAll(async () => {
  await closeLocal(server);
  rmSync(dir, { recursive: true, force: true });
});

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, caFile: join(dir, 'client-ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('the transport', () => {
  it('sends the requests of a KubeConfig over a kept connection instead of one each', async () => {
    const kc = kubeConfig();
    const before = handshakes;
    for (let i = 0; i < 20; i++) {
      const body = await kubeRequest<{ path: string; auth: string }>(kc, {
        method: 'GET',
        path: `/api/v1/namespaces/n${i}`,
      });
      expect(body).toMatchObject({ path: `/api/v1/namespaces/n${i}`, auth: 'Bearer secret-token' });
    }
    expect(handshakes - before).toBe(1);
    const warm = handshakes;
    for (let i = 0; i < 10; i++) await kubeRequest(kc, { method: 'GET', path: '/again' });
    expect(handshakes).toBe(warm);
  });

  it('discardBody: a successful answer is read off the connection but not returned; an error still is', async () => {
    const kc = kubeConfig();
    await kubeRequest(kc, { method: 'GET', path: '/warm' });
    const warm = handshakes;
    for (let i = 0; i < 5; i++)
      await expect(kubeRequest(kc, { method: 'POST', path: '/w', body: { i }, discardBody: true })).resolves.toBe(
        undefined,
      );
    // the answers were consumed: the connection was reused for every one
    expect(handshakes).toBe(warm);
    await expect(kubeRequest(kc, { method: 'GET', path: '/missing', discardBody: true })).rejects.toMatchObject({
      code: 404,
      body: { reason: 'NotFound' },
      message: expect.stringContaining('not here'),
    });
  });

  it('opens a new connection when the TLS settings of a KubeConfig change, and keeps working', async () => {
    const kc = kubeConfig();
    for (let i = 0; i < 3; i++) await kubeRequest(kc, { method: 'GET', path: '/warm' });
    const warm = handshakes;
    await kubeRequest(kc, { method: 'GET', path: '/a' });
    expect(handshakes).toBe(warm);
    // a rotated CA bundle (same CA, different file content) is read on the next request
    appendFileSync(join(dir, 'client-ca.crt'), '\n');
    await expect(kubeRequest(kc, { method: 'GET', path: '/b' })).resolves.toMatchObject({ path: '/b' });
    expect(handshakes).toBeGreaterThan(warm);
  });

  it('lean access: one connection; a rotated CA gets a new one, the old one closes after its last request', async () => {
    copyFileSync(join(dir, 'client-ca.crt'), join(dir, 'lean-ca.crt'));
    let now = 0;
    const access = new LeanAccess(
      { server: url, caFile: join(dir, 'lean-ca.crt'), skipTLSVerify: false, token: 'lean-token' },
      { loader: 'lean', source: 'test' },
      () => now,
    );
    const before = handshakes;
    for (let i = 0; i < 10; i++)
      await expect(kubeRequest(access, { method: 'GET', path: `/l${i}` })).resolves.toMatchObject({
        auth: 'Bearer lean-token',
      });
    expect(handshakes - before).toBe(1);
    // a watch on the kept connection stays open across the rotation
    const abort = new AbortController();
    const watching = watchStream(access, { path: '/api/v1/pods', signal: abort.signal }, () => {});
    watching.catch(() => {}); // awaited below
    await new Promise((r) => setTimeout(r, 100));
    expect(handshakes - before).toBe(1);
    const open = sockets.filter((s) => !s.destroyed).length;
    appendFileSync(join(dir, 'lean-ca.crt'), '\n');
    now += 60_000;
    await kubeRequest(access, { method: 'GET', path: '/rotated' });
    expect(handshakes - before).toBe(2); // the new setting's connection
    expect(sockets.filter((s) => !s.destroyed).length).toBe(open + 1); // nothing closed yet
    abort.abort();
    await expect(watching).rejects.toBeDefined();
    // the old agent is destroyed once its last request ended: its idle connection closes
    await new Promise((r) => setTimeout(r, 200));
    expect(sockets.filter((s) => !s.destroyed).length).toBeLessThan(open + 1);
    await kubeRequest(access, { method: 'GET', path: '/still' });
    expect(handshakes - before).toBe(2);
  });
});

describe('reuseConnections (client-node typed clients)', () => {
  it('is what makes the difference: without it every request opens a connection', async () => {
    // Documents the client-node behaviour it exists for. If an upgrade fixes it upstream, this
    // test fails and reuseConnections can be removed.
    for (const reuse of [false, true]) {
      const kc = reuse ? reuseConnections(kubeConfig()) : kubeConfig();
      const api = kc.makeApiClient(VersionApi);
      const before = handshakes;
      for (let i = 0; i < 10; i++) await api.getCode();
      // undici may open a second HTTP/1.1 connection while the first response is released
      if (reuse) expect(handshakes - before).toBeLessThanOrEqual(2);
      else expect(handshakes - before).toBe(10);
    }
  });
});

describe('settingsKey', () => {
  const opts = (ca: Buffer, extra: object = {}) => ({ type: 'agent', connect: { ca, keepAlive: true, ...extra } });
  it('is the same for the same settings and bytes, whatever the key order', () => {
    expect(settingsKey(opts(Buffer.from('CA-1')))).toBe(
      settingsKey({ connect: { keepAlive: true, ca: Buffer.from('CA-1') }, type: 'agent' }),
    );
  });
  it('changes with the bytes of a Buffer, a value, or a Buffer becoming a string', () => {
    const base = settingsKey(opts(Buffer.from('CA-1')));
    expect(settingsKey(opts(Buffer.from('CA-2')))).not.toBe(base);
    expect(settingsKey(opts(Buffer.from('CA-1'), { keepAlive: false }))).not.toBe(base);
    expect(settingsKey({ type: 'agent', connect: { ca: 'CA-1', keepAlive: true } })).not.toBe(base);
    expect(settingsKey({ type: 'none' })).not.toBe(settingsKey({ type: 'agent' }));
  });
});
