// A minimal HTTPS client for the benchmark's own traffic (creates, patches, watches) with the
// admin client certificate: no client-node models in the way, keep-alive sockets, and the
// receive time of every watch event taken when its bytes arrive.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface Tls {
  caCert: string;
  adminCert: string;
  adminKey: string;
}

export interface Response {
  status: number;
  body: string;
}

export class RawClient {
  private readonly agent: https.Agent;
  private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  private readonly url: URL;

  constructor(server: string, tls: Tls, maxSockets = 64) {
    this.url = new URL(server);
    this.tls = { ca: readFileSync(tls.caCert), cert: readFileSync(tls.adminCert), key: readFileSync(tls.adminKey) };
    this.agent = new https.Agent({ keepAlive: true, maxSockets, ...this.tls });
  }

  request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 60_000,
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = https.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          agent: this.agent,
          timeout: timeoutMs,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined
              ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A request whose answer must be 2xx; 429 (e.g. a new CRD's watch cache still initializing) and 5xx are retried for up to 30 s. */
  async json<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await this.request(method, path, body, contentType);
      if (r.status < 300) return JSON.parse(r.body) as T;
      if ((r.status === 429 || r.status >= 500) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.body.slice(0, 400)}`);
    }
  }

  /**
   * Lists `path` and then watches it from the list's resourceVersion, resuming from the last
   * seen resourceVersion when the server ends the watch. `onEvent` gets the receive time
   * (performance.now() when the chunk holding the event arrived).
   */
  async listWatch(path: string, onEvent: (type: string, obj: any, receivedAt: number) => void): Promise<Watcher> {
    const list = await this.json<{ metadata: { resourceVersion: string }; items: any[] }>('GET', path);
    const now = performance.now();
    for (const item of list.items) onEvent('ADDED', item, now);
    return new Watcher(this, path, list.metadata.resourceVersion, onEvent);
  }

  streamGet(
    path: string,
    onData: (chunk: string, receivedAt: number) => void,
    onEnd: (err?: Error) => void,
  ): () => void {
    const req = https.request(
      {
        host: this.url.hostname,
        port: this.url.port,
        method: 'GET',
        path,
        agent: false,
        ...this.tls,
        headers: { accept: 'application/json' },
      },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          res.resume();
          onEnd(new Error(`watch ${path}: HTTP ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (c: string) => onData(c, performance.now()));
        res.on('end', () => onEnd());
        res.on('error', (e) => onEnd(e));
      },
    );
    req.on('error', (e) => onEnd(e));
    req.end();
    return () => req.destroy();
  }

  close(): void {
    this.agent.destroy();
  }
}

export class Watcher {
  private abort: (() => void) | undefined;
  private stopped = false;
  private restarts = 0;

  constructor(
    private readonly client: RawClient,
    private readonly path: string,
    private resourceVersion: string,
    private readonly onEvent: (type: string, obj: any, receivedAt: number) => void,
  ) {
    this.start();
  }

  private start(): void {
    let buf = '';
    const sep = this.path.includes('?') ? '&' : '?';
    const path = `${this.path}${sep}watch=true&resourceVersion=${this.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=3600`;
    this.abort = this.client.streamGet(
      path,
      (chunk, at) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line.trim()) continue;
          const ev = JSON.parse(line) as { type: string; object: any };
          if (ev.type === 'ERROR') {
            process.stderr.write(`bench watch ${this.path}: ${JSON.stringify(ev.object).slice(0, 300)}\n`);
            continue;
          }
          if (ev.object?.metadata?.resourceVersion) this.resourceVersion = ev.object.metadata.resourceVersion;
          if (ev.type !== 'BOOKMARK') this.onEvent(ev.type, ev.object, at);
        }
      },
      (err) => {
        if (this.stopped) return;
        // Resume (bounded): a benchmark watch must not silently stop counting.
        if (++this.restarts > 20) {
          process.stderr.write(
            `bench watch ${this.path}: giving up after ${this.restarts} restarts (${err?.message ?? 'ended'})\n`,
          );
          return;
        }
        setTimeout(() => !this.stopped && this.start(), err ? 200 : 0);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    this.abort?.();
  }
}
