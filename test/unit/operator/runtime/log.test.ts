import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { createLogger, parseLogLevel, type LoggerOptions } from '../../../../operator/runtime/log';
import { ApiError } from '../../../../operator/runtime/errors';

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger({
    now: () => new Date('2025-01-02T03:04:05.678Z'),
    write: (l) => lines.push(l),
    ...options,
  });
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, entries };
}

describe('parseLogLevel', () => {
  it('maps names and verbosity numbers to zap levels', () => {
    expect(parseLogLevel('debug')).toBe(-1);
    expect(parseLogLevel('INFO')).toBe(0);
    expect(parseLogLevel('error')).toBe(2);
    expect(parseLogLevel('1')).toBe(-1);
    expect(parseLogLevel('5')).toBe(-5);
  });

  it.each(['', 'warn', '0', '-1', 'verbose', '1.5'])('rejects %j', (v) => {
    expect(() => parseLogLevel(v)).toThrow(/invalid log level/);
  });
});

describe('createLogger', () => {
  it('writes one JSON object per line with ts, level, logger, msg and fields', () => {
    const { log, lines, entries } = capture({ name: 'setup', fields: { version: '1' } });
    log.info('starting manager', { namespace: 'a' });
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(lines[0].trim()).not.toContain('\n');
    expect(entries()[0]).toEqual({
      ts: '2025-01-02T03:04:05.678Z',
      level: 'info',
      logger: 'setup',
      msg: 'starting manager',
      version: '1',
      namespace: 'a',
    });
    expect(Object.keys(entries()[0]).slice(0, 4)).toEqual(['ts', 'level', 'logger', 'msg']);
  });

  it('filters by level: info hides debug, error hides info', () => {
    const info = capture();
    info.log.debug('d');
    info.log.info('i');
    info.log.error('e');
    expect(info.entries().map((e) => e.level)).toEqual(['info', 'error']);
    expect(info.log.enabled('debug')).toBe(false);

    const error = capture({ level: parseLogLevel('error') });
    error.log.debug('d');
    error.log.info('i');
    error.log.error('e');
    expect(error.entries().map((e) => e.level)).toEqual(['error']);

    const debug = capture({ level: parseLogLevel('debug') });
    debug.log.debug('d');
    debug.log.info('i');
    expect(debug.entries().map((e) => e.level)).toEqual(['debug', 'info']);
    expect(debug.log.enabled('debug')).toBe(true);

    const v3 = capture({ level: parseLogLevel('3') });
    v3.log.debug('d');
    expect(v3.entries()).toHaveLength(1);
  });

  it('child() adds fields and extends the logger name', () => {
    const { log, entries } = capture({ name: 'controller', fields: { a: 1 } });
    const child = log.child({ controller: 'memcached' }, 'memcached');
    child.child({ reconcileID: 'x' }).info('reconciling');
    log.info('parent');
    expect(entries()[0]).toMatchObject({
      logger: 'controller.memcached',
      a: 1,
      controller: 'memcached',
      reconcileID: 'x',
    });
    expect(entries()[1]).not.toHaveProperty('controller');
    expect(capture().log.child({}, 'only').enabled('info')).toBe(true);
  });

  it('renders errors, bigints and cycles safely', () => {
    const { log, entries } = capture();
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    log.error('reconcile failed', new Error('conflict'), { big: 10n, cyclic, nested: { cause: new Error('inner') } });
    const e = entries()[0];
    expect(e).toMatchObject({ level: 'error', error: 'conflict', big: '10', nested: { cause: 'inner' } });
    expect(e.cyclic).toEqual({ name: 'c', self: '[Circular]' });
    expect(e).not.toHaveProperty('stacktrace');
  });

  it('adds the stack trace of an error at debug level', () => {
    const { log, entries } = capture({ level: -1 });
    log.error('failed', new Error('boom'));
    expect(String(entries()[0].stacktrace)).toContain('Error: boom');
  });

  describe("API errors: the server's reason and message, never the client's dump", () => {
    // What client-node's generated APIs throw for a 403: status, "Unknown API Status Code!", the
    // Status object as text and the response headers, all in one multi-line message.
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
      message:
        'deployments.apps "cache" is forbidden: User "system:serviceaccount:op:op" cannot patch resource "deployments" in API group "apps" in the namespace "team-a"',
    };
    const forbidden = new ApiException(403, 'Unknown API Status Code!', JSON.stringify(status), {
      'content-type': 'application/json',
      'audit-id': 'abc',
    });

    it('an ApiException becomes error (the message), httpStatus and statusReason; one line, no headers', () => {
      expect(forbidden.message).toMatch(/^HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: /);
      const { log, lines, entries } = capture();
      log.error('reconcile failed', forbidden, { namespace: 'team-a', name: 'cache' });
      expect(entries()[0]).toEqual({
        ts: '2025-01-02T03:04:05.678Z',
        level: 'error',
        msg: 'reconcile failed',
        error: status.message,
        httpStatus: 403,
        statusReason: 'Forbidden',
        namespace: 'team-a',
        name: 'cache',
      });
      expect(lines[0]).not.toMatch(/HTTP-Code|Unknown API Status Code|audit-id|Headers/);
    });

    it("a parsed Status body (the runtime's own requests: ApiError) and a body that is not a Status", () => {
      const { log, entries } = capture();
      log.error(
        'list failed',
        new ApiError(
          410,
          'GET /api/v1/pods: too old',
          { kind: 'Status', reason: 'Expired', message: 'too old resource version: 1 (5)', code: 410 },
          {},
        ),
      );
      log.error(
        'list failed',
        new ApiError(502, 'GET /api/v1/pods: <html>bad gateway</html>', '<html>bad gateway</html>', {}),
      );
      // client-node's ApiException without a Status body: the Message line of its dump
      log.error('list failed', new ApiException(503, 'GET /api/v1/pods: unavailable', 'unavailable', {}));
      expect(entries().map(({ error, httpStatus, statusReason }) => ({ error, httpStatus, statusReason }))).toEqual([
        { error: 'too old resource version: 1 (5)', httpStatus: 410, statusReason: 'Expired' },
        { error: 'GET /api/v1/pods: <html>bad gateway</html>', httpStatus: 502, statusReason: 'Bad Gateway' },
        { error: 'GET /api/v1/pods: unavailable', httpStatus: 503, statusReason: 'Service Unavailable' },
      ]);
    });

    it('a network failure names its cause; the debug stack trace starts with the message, not the dump', () => {
      const { log, entries } = capture({ level: -1 });
      log.error(
        'list failed',
        new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.1:443') }),
      );
      log.error('reconcile failed', forbidden);
      const [network, api] = entries();
      expect(network).toMatchObject({ error: 'fetch failed: connect ECONNREFUSED 10.0.0.1:443' });
      expect(network).not.toHaveProperty('httpStatus');
      expect(String(api.stacktrace).split('\n')[0]).toBe(`Error: ${status.message}`);
      expect(String(api.stacktrace)).not.toContain('HTTP-Code');
      expect(String(api.stacktrace)).toMatch(/\n\s+at /);
    });

    it('an error passed as a plain field is rendered the same way', () => {
      const { log, entries } = capture({ level: -1 });
      log.debug('renewal failed', { error: forbidden });
      expect(entries()[0].error).toBe(status.message);
    });
  });
});
