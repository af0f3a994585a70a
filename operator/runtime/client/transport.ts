// One HTTP exchange with the API server, for kube-request.ts and watch-stream.ts, over Node's
// own node:https (node:http for an http:// server): the URL, TLS settings and headers come from
// the ClusterAccess (access.ts), the connection from a keep-alive Agent kept per access and TLS
// setting. When the TLS settings change (a rotated CA or client certificate) the next request
// gets a new Agent, and the previous one is destroyed once its last request (e.g. a watch) has
// ended. Bearer tokens travel in headers, so token rotation needs no new connection.
//
// Neither client-node's fetch nor undici: both cost memory at startup (undici alone ~20 MiB of
// resident memory) and, for fetch, CPU per exchange (WHATWG Request/Response objects and web
// streams). The body arrives as a Node stream.
import type { Agent, IncomingMessage } from 'node:http';
import https from 'node:https';
import { nodeHttp as http } from '../node-http';
import { clusterAccess, type ClusterAccess, type Connection, type KubeAccess } from './access';

/** An ordinary request fails after this long without any data on its connection (undici's default). */
export const REQUEST_IDLE_TIMEOUT_MS = 300_000;
/**
 * An unused kept connection is closed after this long: well before kube-apiserver's own idle
 * timeout (90 s), so a request never races the server closing the connection it reuses.
 */
export const FREE_SOCKET_TIMEOUT_MS = 30_000;

export interface Exchange {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** API path, e.g. "/api/v1/namespaces/x/pods". */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /**
   * A long-lived response (a watch): no transport-level timeouts once the server has answered;
   * the caller bounds the connection phase and watches for silence itself.
   */
  streaming?: boolean;
}

export interface ExchangeResponse {
  status: number;
  headers: Record<string, string>;
  /** The whole body as text. */
  text(): Promise<string>;
  /** The body as it arrives. */
  chunks(): AsyncIterable<Uint8Array>;
}

/** An Agent and the requests it carries; destroyed once retired and idle. */
class AgentSlot {
  private inflight = 0;
  private retired = false;

  constructor(
    readonly key: string,
    readonly agent: Agent,
    private readonly owned: boolean,
  ) {}

  acquire(): () => void {
    this.inflight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.inflight === 0 && this.retired) this.destroy();
    };
  }

  retire(): void {
    this.retired = true;
    if (this.inflight === 0) this.destroy();
  }

  private destroy(): void {
    if (this.owned) this.agent.destroy();
  }
}

const slots = new WeakMap<ClusterAccess, AgentSlot>();

function agentSlot(access: ClusterAccess, conn: Connection): AgentSlot {
  const current = slots.get(access);
  if (current?.key === conn.key) return current;
  const options = {
    keepAlive: true,
    // TCP keep-alive probes after 30 s of silence, as client-go (and client-node's undici setup)
    keepAliveMsecs: 30_000,
    timeout: FREE_SOCKET_TIMEOUT_MS,
    scheduling: 'lifo' as const,
  };
  const slot = conn.agent
    ? new AgentSlot(conn.key, conn.agent, false)
    : new AgentSlot(
        conn.key,
        conn.server.startsWith('http:') ? new http.Agent(options) : new https.Agent({ ...options, ...conn.tls }),
        true,
      );
  slots.set(access, slot);
  current?.retire();
  return slot;
}

export async function exchange(target: KubeAccess, request: Exchange): Promise<ExchangeResponse> {
  request.signal?.throwIfAborted();
  const access = clusterAccess(target);
  const conn = await access.connection();
  request.signal?.throwIfAborted();
  const url = new URL(conn.server + request.path);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const slot = agentSlot(access, conn);
  const release = slot.acquire();
  const headers: Record<string, string | number> = { ...conn.headers, ...request.headers };
  if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body);
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = (url.protocol === 'http:' ? http : https).request(url, {
      method: request.method,
      headers,
      agent: slot.agent,
      signal: request.signal,
      // 0: a watch may be silent for minutes (its caller has a watchdog); the agent's idle
      // timeout applies to the connection again once it is free
      timeout: request.streaming ? 0 : REQUEST_IDLE_TIMEOUT_MS,
    });
    req.once('close', release);
    // `on`: an error after the response (a reset, an abort) also ends the response, which
    // reports it to whoever reads the body
    req.on('error', reject);
    req.once('response', resolve);
    if (!request.streaming) {
      req.once('timeout', () => {
        const err = new Error(`${request.method} ${request.path}: no data for ${REQUEST_IDLE_TIMEOUT_MS} ms`);
        err.name = 'TimeoutError';
        req.destroy(err);
      });
    }
    req.end(request.body);
  });
  // Errors reach the reader through the body's iterator; without a reader they must not crash.
  response.on('error', () => undefined);
  const responseHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    status: response.statusCode ?? 0,
    headers: responseHeaders,
    text: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    chunks: () => response,
  };
}
