// What a reconcile returns, and how its errors are classified. controller-runtime's rules:
// a thrown error is retried with per-key backoff, unless it is a TerminalError (retrying cannot
// fix it): then it is logged and counted, but the key is not queued again until an event
// brings it back.
import { nodeHttp } from './node-http';

const { STATUS_CODES } = nodeHttp;

/** What a reconcile asks for; an empty result (or void) means done. */
export interface ReconcileResult {
  /** Queue the key again after this many milliseconds (and reset its backoff). */
  requeueAfter?: number;
  /** Queue the key again with backoff, without counting it as an error. */
  requeue?: boolean;
}

/** An error that retrying cannot fix (controller-runtime's reconcile.TerminalError). */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/**
 * A request or watch the API server answered with a non-2xx status (client/kube-request.ts,
 * client/watch-stream.ts). The same information as client-node's ApiException (`code`, `body`,
 * `headers`) without loading client-node; the message is "METHOD path: the server's message".
 */
export class ApiError extends Error {
  constructor(
    /** The HTTP status. */
    readonly code: number,
    message: string,
    /** The parsed Status object when the body was JSON, else the body text. */
    readonly body: unknown,
    readonly headers: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * HTTP statuses of API requests that fail the same way on every retry: the request itself is
 * bad (400), forbidden (403) or invalid (422). Fixing them takes a changed object or changed
 * RBAC, whose watch events queue the key again anyway.
 */
const TERMINAL_STATUSES = new Set([400, 403, 422]);

/**
 * True for an API error that retrying cannot fix (see TERMINAL_STATUSES). A reconciler that
 * wants the worker loop to give up on such an error throws it wrapped in a TerminalError; one
 * that reports it on the object instead (a status condition) simply does not rethrow it.
 */
export function isTerminalApiError(err: unknown): boolean {
  const status = httpStatus(err);
  return status !== undefined && TERMINAL_STATUSES.has(status);
}

/**
 * The HTTP status of a failed request or watch: ApiError.code, client-node's ApiException.code
 * (its typed APIs, which tests and tools use), or a `{statusCode}` error. undefined for other
 * errors.
 */
export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiError) return err.code;
  const e = err as { code?: unknown; statusCode?: unknown } | null | undefined;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The most useful message of an API error: the Status object's message when there is one. */
export function errorMessage(err: unknown): string {
  const e = err as { body?: unknown; message?: string };
  if (typeof e?.body === 'string') {
    try {
      const parsed = JSON.parse(e.body);
      if (parsed?.message) return parsed.message;
    } catch {
      /* not JSON */
    }
  }
  if (e?.body && typeof e.body === 'object' && 'message' in e.body)
    return String((e.body as { message: unknown }).message);
  return e?.message ?? String(err);
}

/** What a log line says about a failed request: HTTP status, the server's reason and message. */
export interface ErrorDetails {
  /** The HTTP status (403, 422, …); undefined for errors without one (network, programming). */
  httpStatus?: number;
  /** The Status object's machine-readable reason (Forbidden, Invalid, NotFound, …), else the HTTP status text. */
  statusReason?: string;
  /** The server's message; for other errors the error's own message (with its cause, if any). */
  message: string;
}

/**
 * Describes an error for a log line without a client's dump (client-node's ApiException's
 * message holds "HTTP-Code: …\nMessage: …\nBody: …\nHeaders: …"): the status, the Status
 * object's reason and message, or for a failed request the network cause (e.g. "connect
 * ECONNREFUSED 10.0.0.1:443").
 */
export function describeError(err: unknown): ErrorDetails {
  const status = httpStatus(err);
  const body = statusBody(err);
  if (body?.message) {
    return {
      httpStatus: status ?? body.code,
      statusReason: body.reason || statusText(status ?? body.code),
      message: body.message,
    };
  }
  if (err instanceof ApiError) {
    // "METHOD path: detail" (kube-request.ts, watch-stream.ts)
    return { httpStatus: status, statusReason: statusText(status), message: err.message || `HTTP ${status}` };
  }
  const dump = err instanceof Error ? CLIENT_NODE_DUMP.exec(err.message) : null;
  if (dump) {
    // client-node's ApiException (recognised by its message, so that this module does not load client-node)
    return { httpStatus: status, statusReason: statusText(status), message: dump[1] || `HTTP ${status}` };
  }
  if (err instanceof Error) {
    // A wrapper (TerminalError, fetch's TypeError): its message, then the cause described the same way.
    if (err.cause === undefined || err.cause === null)
      return { httpStatus: status, statusReason: statusText(status), message: err.message };
    const cause = describeError(err.cause);
    const message =
      cause.message === err.message || err.message.endsWith(cause.message)
        ? err.message
        : `${err.message}: ${cause.message}`;
    return {
      httpStatus: status ?? cause.httpStatus,
      statusReason: status !== undefined ? statusText(status) : cause.statusReason,
      message,
    };
  }
  return { httpStatus: status, statusReason: statusText(status), message: String(err) };
}

/** The message client-node's ApiException builds: its own message is the Message line. */
const CLIENT_NODE_DUMP = /^HTTP-Code: \d+\nMessage: (.*?)\nBody: /s;

function statusBody(err: unknown): { message?: string; reason?: string; code?: number } | undefined {
  const body = (err as { body?: unknown } | null | undefined)?.body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const s = parsed as { message?: unknown; reason?: unknown; code?: unknown };
  return {
    message: typeof s.message === 'string' ? s.message : undefined,
    reason: typeof s.reason === 'string' ? s.reason : undefined,
    code: typeof s.code === 'number' ? s.code : undefined,
  };
}

function statusText(status: number | undefined): string | undefined {
  return status === undefined ? undefined : STATUS_CODES[status];
}
