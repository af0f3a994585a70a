// watchStream against an in-process HTTP endpoint: events line by line (also split across
// chunks), the server ending the stream, an error status, a server that never answers (the
// connect timeout) and the caller's abort. The idle case against a real kube-apiserver is in
// test/integration/runtime-informer.test.ts.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { watchStream } from '../../../../../operator/runtime/client/watch-stream';

let server: Server | undefined;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<KubeConfig> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

describe('watchStream', () => {
  it('delivers events line by line, across chunk boundaries, and resolves when the server ends the stream', async () => {
    let query: URLSearchParams | undefined;
    const kc = await serve((req, res) => {
      query = new URL(req.url!, 'http://x').searchParams;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MOD');
      setTimeout(() => res.end('IFIED","object":{"metadata":{"name":"b"}}}\n'), 300);
    });
    const events: string[] = [];
    await watchStream(
      kc,
      {
        path: '/api/v1/pods',
        query: { resourceVersion: '5', timeoutSeconds: 400 },
        signal: new AbortController().signal,
      },
      (type, o) => events.push(`${type} ${(o as { metadata: { name: string } }).metadata.name}`),
    );
    expect(events).toEqual(['ADDED a', 'MODIFIED b']);
    expect(query?.get('watch')).toBe('true');
    expect(query?.get('timeoutSeconds')).toBe('400');
  });

  it('rejects with the HTTP status of a refused watch', async () => {
    const kc = await serve(
      (_req, res) =>
        void res
          .writeHead(404)
          .end('{"kind":"Status","code":404,"message":"the server could not find the requested resource"}'),
    );
    await expect(
      watchStream(kc, { path: '/apis/x/v1/things', signal: new AbortController().signal }, () => {}),
    ).rejects.toMatchObject({
      code: 404,
      message: expect.stringContaining('the server could not find the requested resource'),
    });
  });

  it('bounds only the wait for an answer (TimeoutError), not the silence of an open watch', async () => {
    const silent = await serve(() => {}); // never answers
    await expect(
      watchStream(
        silent,
        { path: '/api/v1/pods', signal: new AbortController().signal, connectTimeoutMs: 150 },
        () => {},
      ),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    server?.closeAllConnections();
    await new Promise((r) => server!.close(r));

    // An answered watch that stays silent longer than the connect timeout is left open.
    const quiet = await serve((_req, res) => {
      res.writeHead(200).flushHeaders();
      setTimeout(() => res.end('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}\n'), 400);
    });
    const types: string[] = [];
    await watchStream(
      quiet,
      { path: '/api/v1/pods', signal: new AbortController().signal, connectTimeoutMs: 150 },
      (t) => types.push(t),
    );
    expect(types).toEqual(['BOOKMARK']);
  });

  it("ends when the caller's signal aborts", async () => {
    const kc = await serve((_req, res) => void res.writeHead(200).flushHeaders());
    const abort = new AbortController();
    const watching = watchStream(kc, { path: '/api/v1/pods', signal: abort.signal }, () => {});
    setTimeout(() => abort.abort(), 100);
    await expect(watching).rejects.toBeDefined();
  });
});
