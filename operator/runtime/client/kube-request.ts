// Plain-JSON requests to the API server over client-node's own HTTP stack (the kubeconfig's
// TLS/auth and undici dispatcher). Used where the generated typed clients do not fit: generic
// lists of any resource (core or custom) returning plain API objects, requests that must be
// abortable/time-bounded (the generated methods take no AbortSignal), and the controller's
// writes, whose bodies and answers need no round trip through the typed models.
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { exchange } from './transport';

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
  const headers: Record<string, string> = { Accept: request.accept ?? 'application/json' };
  if (request.body !== undefined) headers['Content-Type'] = request.contentType ?? 'application/json';
  const signals = [request.signal, request.timeoutMs ? AbortSignal.timeout(Math.ceil(request.timeoutMs)) : undefined];
  const response = await exchange(kc, {
    method: request.method,
    path: request.path,
    query: request.query,
    headers,
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    signal: AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined)),
  });
  const text = await response.text();
  if (response.status < 200 || response.status > 299) {
    const body = parseJson(text);
    const message = (body as { message?: unknown } | null)?.message;
    const detail = typeof message === 'string' ? message : text.slice(0, 200) || 'empty response';
    throw new ApiException(response.status, `${request.method} ${request.path}: ${detail}`, body, response.headers);
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
