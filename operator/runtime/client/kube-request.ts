// Plain-JSON requests to the API server over client-node's own HTTP stack (the kubeconfig's
// TLS/auth and undici dispatcher). Used where the generated typed clients do not fit: generic
// lists of any resource (core or custom) returning plain API objects, requests that must be
// abortable/time-bounded (the generated methods take no AbortSignal), and the controller's
// writes, whose bodies and answers need no round trip through the typed models.
import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  type KubeConfig,
} from '@kubernetes/client-node';

const http = new IsomorphicFetchHttpLibrary();

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** API path, e.g. "/apis/coordination.k8s.io/v1/namespaces/x/leases/y". */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Accept header; default application/json. */
  accept?: string;
  /** Content type of the body; default application/json (PATCH needs the patch type). */
  contentType?: string;
  signal?: AbortSignal;
  /** Abort the request after this many milliseconds. */
  timeoutMs?: number;
}

/**
 * Sends `request` and returns the parsed JSON body. Non-2xx responses reject with client-node's
 * ApiException (code = HTTP status, body = the parsed Status object when there is one; see
 * httpStatus in ../errors).
 */
export async function kubeRequest<T>(kc: KubeConfig, request: KubeRequest): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + request.path);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const ctx = new RequestContext(url.toString(), HttpMethod[request.method]);
  ctx.setHeaderParam('Accept', request.accept ?? 'application/json');
  if (request.body !== undefined) {
    ctx.setHeaderParam('Content-Type', request.contentType ?? 'application/json');
    ctx.setBody(JSON.stringify(request.body));
  }
  const signals = [request.signal, request.timeoutMs ? AbortSignal.timeout(Math.ceil(request.timeoutMs)) : undefined];
  const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
  ctx.setSignal(signal);
  await kc.applySecurityAuthentication(ctx);

  const response = await http.send(ctx).toPromise();
  const text = await response.body.text();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    const body = parseJson(text);
    const message = (body as { message?: unknown } | null)?.message;
    const detail = typeof message === 'string' ? message : text.slice(0, 200) || 'empty response';
    throw new ApiException(
      response.httpStatusCode,
      `${request.method} ${request.path}: ${detail}`,
      body,
      response.headers,
    );
  }
  return JSON.parse(text) as T;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
