// Structured JSON logging: one object per line ({ts, level, logger, msg, ...fields}), with
// zap-style levels so `--zap-log-level` means what it means for a controller-runtime manager.
import { writeSync } from 'node:fs';
import { describeError } from './errors';

/** Structured fields attached to a log line. Error values are rendered as their message. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  /** Verbose detail (zap level -1, shown with `--zap-log-level=debug` or a number ≥ 1). */
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  /**
   * `err` goes into the `error` field: the server's message for an API error (with `httpStatus`
   * and `statusReason`), else the error's message; `stacktrace` at debug level.
   */
  error(msg: string, err?: unknown, fields?: LogFields): void;
  /** A logger that adds `fields` to every line; `name` is appended to the logger name with a dot. */
  child(fields: LogFields, name?: string): Logger;
  /** Whether lines at `level` are written (to skip building expensive fields). */
  enabled(level: LogLevelName): boolean;
}

export type LogLevelName = 'debug' | 'info' | 'error';

/** zap's numeric levels: lower is more verbose. */
const LEVELS: Record<LogLevelName, number> = { debug: -1, info: 0, error: 2 };

/**
 * Parses a `--zap-log-level` value into a zap level: `debug`, `info`, `error`, or an integer
 * N > 0 meaning verbosity N (zap level -N, i.e. at least as verbose as `debug`).
 */
export function parseLogLevel(value: string): number {
  const v = value.trim().toLowerCase();
  if (v in LEVELS) return LEVELS[v as LogLevelName];
  if (/^\d+$/.test(v) && Number(v) > 0) return -Number(v);
  throw new Error(`invalid log level "${value}": expected debug, info, error or an integer > 0`);
}

export interface LoggerOptions {
  /** zap level threshold (see parseLogLevel); default 0 (info). */
  level?: number;
  /** Logger name (the `logger` field); default none. */
  name?: string;
  /** Fields added to every line. */
  fields?: LogFields;
  /** Where lines go; default process.stdout. Each call receives one line including "\n". */
  write?: (line: string) => void;
  /** Clock for the `ts` field (tests). */
  now?: () => Date;
}

/** The process's one standard-output writer (see stdoutLines). */
let stdout: ((line: string) => void) | undefined;

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 0;
  const write = options.write ?? (stdout ??= stdoutLines());
  const now = options.now ?? (() => new Date());
  return makeLogger(level, write, now, options.name, options.fields ?? {});
}

function makeLogger(
  threshold: number,
  write: (line: string) => void,
  now: () => Date,
  name: string | undefined,
  base: LogFields,
): Logger {
  const enabled = (level: LogLevelName) => LEVELS[level] >= threshold;
  const emit = (level: LogLevelName, msg: string, fields: LogFields | undefined) => {
    if (!enabled(level)) return;
    const entry: LogFields = { ts: now().toISOString(), level };
    if (name) entry.logger = name;
    entry.msg = msg;
    Object.assign(entry, base, fields);
    write(stringify(entry) + '\n');
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    error: (msg, err, fields) => {
      const errFields: LogFields = {};
      if (err !== undefined) {
        // The server's message, HTTP status and reason, never the client's raw dump.
        const { httpStatus, statusReason, message } = describeError(err);
        errFields.error = message;
        if (httpStatus !== undefined) errFields.httpStatus = httpStatus;
        if (statusReason !== undefined) errFields.statusReason = statusReason;
        if (err instanceof Error && enabled('debug')) errFields.stacktrace = stackFrames(err, message);
      }
      emit('error', msg, { ...errFields, ...fields });
    },
    child: (fields, childName) =>
      makeLogger(threshold, write, now, childName ? (name ? `${name}.${childName}` : childName) : name, {
        ...base,
        ...fields,
      }),
    enabled,
  };
}

/** The stack without the first line(s) (the message, possibly a multi-line dump), headed by `message`. */
function stackFrames(err: Error, message: string): string {
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  return [`${err.name}: ${message}`, ...frames].join('\n');
}

/**
 * Standard output, one write per turn of the event loop for all the lines logged in it: a
 * burst of reconciles logs hundreds of lines a second, and a write per line was a visible
 * share of the operator's CPU in the N = 1000 profile. Lines still pending when the process
 * exits are written synchronously from the 'exit' handler, so none is lost on a normal exit.
 */
function stdoutLines(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (!pending.length) return;
    const text = pending.join('');
    pending = [];
    process.stdout.write(text);
  };
  process.on('exit', () => {
    if (!pending.length) return;
    try {
      writeSync(1, pending.join(''));
    } catch {
      // standard output is gone: nothing left to tell
    }
    pending = [];
  });
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

/** Whether a field value serializes the same with and without stringify's replacer. */
const plainValue = (v: unknown): boolean =>
  v === null ||
  (typeof v !== 'object' && typeof v !== 'bigint') ||
  (Array.isArray(v) && v.every((x) => x === null || (typeof x !== 'object' && typeof x !== 'bigint')));

/** JSON.stringify that renders Errors, bigints and cycles instead of throwing. */
function stringify(entry: LogFields): string {
  // Most lines carry only strings, numbers and lists of them: no replacer needed, which
  // JSON.stringify would otherwise call for every key and value.
  if (Object.values(entry).every(plainValue)) return JSON.stringify(entry);
  const seen = new WeakSet<object>();
  return JSON.stringify(entry, (_key, value: unknown) => {
    if (value instanceof Error) return describeError(value).message;
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  });
}

/** A logger that drops everything (default for runtime pieces constructed without one). */
export const nopLogger: Logger = createLogger({ level: Number.POSITIVE_INFINITY, write: () => {} });
