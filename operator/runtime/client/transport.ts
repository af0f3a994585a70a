// One HTTP exchange with the API server, for kube-request.ts and watch-stream.ts: the URL from
// the kubeconfig's current cluster, its authentication (KubeConfig.applySecurityAuthentication:
// token, client certificate, exec plugins) and the connection it chooses (the undici
// dispatcher kube-config.ts keeps per TLS setting).
//
// The request goes through that dispatcher's own request() rather than through client-node's
// fetch() on top of it: fetch builds WHATWG Request/Response objects and web streams for every
// exchange, which the N = 1000 benchmark profile showed as the largest single share of the
// operator's CPU (fetch alone ~17 % of its busy time). Same connection, same headers, same
// bytes; the body arrives as a Node stream. A cluster without TLS settings (no dispatcher: plain
// http with skipTLSVerify) keeps client-node's fetch path.
import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig } from '@kubernetes/client-node';

const fetchLibrary = new IsomorphicFetchHttpLibrary();

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

export async function exchange(kc: KubeConfig, request: Exchange): Promise<ExchangeResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + request.path);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const ctx = new RequestContext(url.toString(), HttpMethod[request.method]);
  for (const [name, value] of Object.entries(request.headers)) ctx.setHeaderParam(name, value);
  if (request.body !== undefined) ctx.setBody(request.body);
  if (request.signal) ctx.setSignal(request.signal);
  await kc.applySecurityAuthentication(ctx);

  const dispatcher = ctx.getDispatcher();
  if (!dispatcher) {
    const response = await fetchLibrary.send(ctx).toPromise();
    return {
      status: response.httpStatusCode,
      headers: response.headers,
      text: () => response.body.text(),
      chunks: () => response.body.stream() as unknown as AsyncIterable<Uint8Array>,
    };
  }
  const response = await dispatcher.request({
    origin: url.origin,
    path: url.pathname + url.search,
    method: request.method,
    headers: ctx.getHeaders(),
    body: request.body,
    signal: request.signal,
    ...(request.streaming ? { headersTimeout: 0, bodyTimeout: 0 } : {}),
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    status: response.statusCode,
    headers,
    text: () => response.body.text(),
    chunks: () => response.body,
  };
}
