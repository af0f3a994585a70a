// Plain-JSON requests to the API server (transport.ts: the access's TLS/auth and kept
// connection). Used where the generated typed clients do not fit: generic
// lists of any resource (core or custom) returning plain API objects, requests that must be
// abortable/time-bounded (the generated methods take no AbortSignal), and the controller's
// writes, whose bodies and answers need no round trip through the typed models.
import { ApiError } from '../errors';
import type { KubeAccess } from './access';
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
  /**
   * The caller has no use for a successful answer: it is read off the connection but not
   * decoded (a write's answer is the whole object, and decoding it was CPU spent for nothing).
   */
  discardBody?: boolean;
}

/**
 * Sends `request` and returns the parsed JSON body (undefined with `discardBody`). Non-2xx responses reject with an ApiError
 * (code = HTTP status, body = the parsed Status object when there is one; see httpStatus in
 * ../errors).
 */
export async function kubeRequest<T>(kc: KubeAccess, request: KubeRequest): Promise<T> {
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
  const ok = response.status >= 200 && response.status <= 299;
  if (ok && request.discardBody) {
    for await (const chunk of response.chunks()) void chunk;
    return undefined as T;
  }
  const text = await response.text();
  if (!ok) {
    const body = parseJson(text);
    const message = (body as { message?: unknown } | null)?.message;
    const detail = typeof message === 'string' ? message : text.slice(0, 200) || 'empty response';
    throw new ApiError(response.status, `${request.method} ${request.path}: ${detail}`, body, response.headers);
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
