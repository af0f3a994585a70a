// Health probe server (/healthz, /readyz) and metrics server (/metrics) on controller-runtime
// style bind addresses (":8081", "127.0.0.1:8080", "0" = disabled).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nopLogger, type Logger } from '../log';
import { nodeHttp } from '../node-http';

const { createServer } = nodeHttp;

export interface BindAddress {
  /** undefined = all interfaces. */
  host: string | undefined;
  /** 0 = pick a free port. */
  port: number;
}

/**
 * Parses "host:port", ":port" or "[v6]:port". Returns undefined for "0" or "" (disabled, as in
 * controller-runtime); throws on anything else.
 */
export function parseBindAddress(address: string): BindAddress | undefined {
  if (address === '0' || address === '') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid bind address "${address}": expected [host]:port or "0"`);
  return { host: m[1] ?? (m[2] || undefined), port };
}

/** A probe check: healthy unless it returns false or throws/rejects (the message is shown). */
export type Check = () => boolean | void | Promise<boolean | void>;

export interface ProbeServer {
  /** Bound port; undefined when the server is disabled. */
  readonly port: number | undefined;
  /** Adds a liveness check served under /healthz (besides the built-in "ping" heartbeat). */
  addHealthCheck(name: string, check: Check): void;
  /** Adds a readiness check served under /readyz (e.g. "informers synced"). */
  addReadyCheck(name: string, check: Check): void;
  close(): Promise<void>;
}

export interface ProbeServerOptions {
  bindAddress: string;
  /** How often the heartbeat timer ticks; default 1 s. */
  heartbeatIntervalMs?: number;
  /** /healthz fails when the last tick is older than this (a starved event loop); default 10 s. */
  heartbeatStaleMs?: number;
  /** A check not settled after this long fails; default 5 s. */
  checkTimeoutMs?: number;
  log?: Logger;
}

/**
 * Starts the probe server. `/healthz` passes while the event loop keeps running timers (a
 * heartbeat updated every `heartbeatIntervalMs`) and all health checks pass; `/readyz` passes
 * when all ready checks pass. `?verbose` lists every check. Disabled ("0") still returns a
 * ProbeServer so callers can register checks unconditionally.
 */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const log = options.log ?? nopLogger;
  const interval = options.heartbeatIntervalMs ?? 1000;
  const stale = options.heartbeatStaleMs ?? 10_000;
  const timeoutMs = options.checkTimeoutMs ?? 5000;
  const health = new Map<string, Check>();
  const ready = new Map<string, Check>();

  let lastBeat = performance.now();
  const heartbeat = setInterval(() => (lastBeat = performance.now()), interval);
  heartbeat.unref();
  health.set('ping', () => {
    const age = performance.now() - lastBeat;
    if (age > stale) throw new Error(`event loop heartbeat is ${Math.round(age)} ms old`);
  });

  const bind = parseBindAddress(options.bindAddress);
  const listening = bind
    ? await listen(bind, async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://probe');
        const checks = url.pathname === '/healthz' ? health : url.pathname === '/readyz' ? ready : undefined;
        if (!checks) return send(res, 404, 'not found\n');
        const result = await runChecks(url.pathname.slice(1), checks, url.searchParams.has('verbose'), timeoutMs);
        if (result.status !== 200) log.info('probe failed', { path: url.pathname, detail: result.body.trim() });
        send(res, result.status, result.body);
      })
    : undefined;

  return {
    port: listening?.port,
    addHealthCheck: (name, check) => void health.set(name, check),
    addReadyCheck: (name, check) => void ready.set(name, check),
    close: async () => {
      clearInterval(heartbeat);
      if (listening) await closeServer(listening.server);
    },
  };
}

export interface MetricsServer {
  /** Bound port; undefined when the server is disabled. */
  readonly port: number | undefined;
  close(): Promise<void>;
}

/** What the metrics server needs from a prom-client Registry. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** Serves `registry` as Prometheus text on GET /metrics. */
export async function startMetricsServer(options: {
  bindAddress: string;
  registry: MetricsSource;
}): Promise<MetricsServer> {
  const bind = parseBindAddress(options.bindAddress);
  if (!bind) return { port: undefined, close: async () => {} };
  const { server, port } = await listen(bind, async (req, res) => {
    if (new URL(req.url ?? '/', 'http://metrics').pathname !== '/metrics') return send(res, 404, 'not found\n');
    try {
      const body = await options.registry.metrics();
      send(res, 200, body, options.registry.contentType);
    } catch (err) {
      send(res, 500, `collecting metrics failed: ${(err as Error).message}\n`);
    }
  });
  return { port, close: () => closeServer(server) };
}

async function runChecks(kind: string, checks: Map<string, Check>, verbose: boolean, timeoutMs: number) {
  const results = await Promise.all(
    [...checks].map(async ([name, check]) => {
      try {
        const ok = await withTimeout(Promise.resolve().then(check), timeoutMs);
        return ok === false ? `[-]${name} failed: check returned false` : `[+]${name} ok`;
      } catch (err) {
        return `[-]${name} failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }),
  );
  const failed = results.some((line) => line.startsWith('[-]'));
  if (!failed && !verbose) return { status: 200, body: 'ok\n' };
  const footer = failed ? `${kind} check failed` : `${kind} check passed`;
  return { status: failed ? 500 : 200, body: [...results, footer].join('\n') + '\n' };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

async function listen(bind: BindAddress, handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    Promise.resolve(handler(req, res)).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, `${err.message}\n`);
      else res.destroy(err);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Stops accepting connections, closes idle keep-alive sockets, and force-closes the rest after 5 s. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), 5000);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
