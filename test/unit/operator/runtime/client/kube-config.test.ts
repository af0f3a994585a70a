// Connection reuse (operator/runtime/client/kube-config.ts): requests through a KubeConfig share one
// TLS connection, and changed TLS settings (a rotated CA file) get a fresh one. The server is a
// local HTTPS server that counts handshakes: what is tested is the client's connection
// handling, not API behaviour.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reuseConnections, settingsKey } from '../../../../../operator/runtime/client/kube-config';
import { kubeRequest } from '../../../../../operator/runtime/client/kube-request';
import { createPki } from '../../../../../cluster/pki';

let dir: string;
let server: https.Server;
let handshakes = 0;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kube-config-'));
  const pki = await createPki(dir);
  copyFileSync(pki.caCert, join(dir, 'client-ca.crt'));
  server = https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ kind: 'Status', path: req.url, auth: req.headers.authorization ?? null }));
  });
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
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

describe('reuseConnections', () => {
  it('sends the requests of a KubeConfig over a kept connection instead of one each', async () => {
    const kc = reuseConnections(kubeConfig());
    const before = handshakes;
    for (let i = 0; i < 20; i++) {
      const body = await kubeRequest<{ path: string; auth: string }>(kc, {
        method: 'GET',
        path: `/api/v1/namespaces/n${i}`,
      });
      expect(body).toMatchObject({ path: `/api/v1/namespaces/n${i}`, auth: 'Bearer secret-token' });
    }
    // undici may open a second HTTP/1.1 connection while the first response is still being
    // released (against kube-apiserver it is one HTTP/2 connection); after that, none
    expect(handshakes - before).toBeLessThanOrEqual(2);
    const warm = handshakes;
    for (let i = 0; i < 10; i++) await kubeRequest(kc, { method: 'GET', path: '/again' });
    expect(handshakes).toBe(warm);
  });

  it('opens a new connection when the TLS settings change, and keeps working', async () => {
    const kc = reuseConnections(kubeConfig());
    for (let i = 0; i < 3; i++) await kubeRequest(kc, { method: 'GET', path: '/warm' });
    const warm = handshakes;
    await kubeRequest(kc, { method: 'GET', path: '/a' });
    expect(handshakes).toBe(warm);
    // a rotated CA bundle (same CA, different file content) is read on the next request
    appendFileSync(join(dir, 'client-ca.crt'), '\n');
    await expect(kubeRequest(kc, { method: 'GET', path: '/b' })).resolves.toMatchObject({ path: '/b' });
    expect(handshakes).toBeGreaterThan(warm);
  });

  it('is what makes the difference: without it every request opens a connection', async () => {
    // Documents the client-node behaviour this module exists for. If an upgrade fixes it
    // upstream, this test fails and reuseConnections can be removed.
    const kc = kubeConfig();
    const before = handshakes;
    for (let i = 0; i < 10; i++) await kubeRequest(kc, { method: 'GET', path: '/x' });
    expect(handshakes - before).toBe(10);
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
