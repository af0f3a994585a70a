// A watch request without a client-side inactivity limit. client-node 2.0.1's Watch aborts a
// watch after 30 s without data, so on a quiet resource every watch was re-opened twice a
// minute even though the server had been asked to keep it for 5–10 min (timeoutSeconds) and
// sends a bookmark about once a minute. Here only the connection phase is time-bounded; once
// the server answered, the stream lasts until the server ends it (timeoutSeconds), an error, or
// the caller's signal (its own watchdog). Same HTTP stack as every other request
// (transport.ts: the access's TLS/auth and kept connection).
import { ApiError } from '../errors';
import type { KubeAccess } from './access';
import { exchange } from './transport';

export interface WatchStreamRequest {
  /** Collection path, e.g. "/api/v1/namespaces/x/pods"; `watch=true` is added. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Accept header; default application/json. */
  accept?: string;
  /** Ends the watch (the returned promise then rejects with an AbortError). */
  signal: AbortSignal;
  /** Abort if the server has not answered (status line and headers) within this; default 30 s. */
  connectTimeoutMs?: number;
}

/**
 * Opens a watch and calls `onEvent(type, object)` for every event line. Resolves when the
 * server ends the stream; rejects on a non-200 answer (ApiError, `code` = HTTP status), a connect timeout (an Error named TimeoutError), a broken stream or an abort.
 */
export async function watchStream(
  kc: KubeAccess,
  request: WatchStreamRequest,
  onEvent: (type: string, object: unknown) => void,
): Promise<void> {
  const connecting = new AbortController();
  const connectTimer = setTimeout(() => {
    const err = new Error(`watch ${request.path}: no answer within ${request.connectTimeoutMs ?? 30_000} ms`);
    err.name = 'TimeoutError';
    connecting.abort(err);
  }, request.connectTimeoutMs ?? 30_000);
  connectTimer.unref();
  try {
    let response;
    try {
      response = await exchange(kc, {
        method: 'GET',
        path: request.path,
        query: { watch: 'true', ...request.query },
        headers: { Accept: request.accept ?? 'application/json' },
        signal: AbortSignal.any([request.signal, connecting.signal]),
        streaming: true,
      });
    } catch (err) {
      throw connecting.signal.aborted ? connecting.signal.reason : err;
    }
    clearTimeout(connectTimer);
    if (response.status !== 200) {
      const text = await response.text().catch(() => '');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      const message = (body as { message?: unknown } | null)?.message;
      throw new ApiError(
        response.status,
        `watch ${request.path}: ${typeof message === 'string' ? message : text.slice(0, 200) || 'no body'}`,
        body,
        response.headers,
      );
    }
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.chunks()) {
      buffered += decoder.decode(chunk, { stream: true });
      // Every complete line of the chunk, then keep the partial rest: one pass, one copy.
      let start = 0;
      let newline;
      while ((newline = buffered.indexOf('\n', start)) >= 0) {
        const line = buffered.slice(start, newline).trim();
        start = newline + 1;
        if (!line) continue;
        let event: { type?: string; object?: unknown };
        try {
          event = JSON.parse(line);
        } catch {
          continue; // not an event line; the server never sends these
        }
        if (event.type) onEvent(event.type, event.object);
      }
      if (start > 0) buffered = buffered.slice(start);
    }
  } finally {
    clearTimeout(connectTimer);
  }
}
