import { afterEach, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { parseBindAddress, startMetricsServer, startProbeServer } from '../../../../../operator/runtime/manager/http';
import { RuntimeMetrics } from '../../../../../operator/runtime/metrics';

interface Reply {
  status: number;
  body: string;
  contentType: string | undefined;
}

function get(port: number, path: string, method = 'GET', agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

describe('parseBindAddress', () => {
  it.each([
    [':8081', { host: undefined, port: 8081 }],
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('%s', (input, expected) => {
    expect(parseBindAddress(input)).toEqual(expected);
  });

  it('treats "0" and "" as disabled', () => {
    expect(parseBindAddress('0')).toBeUndefined();
    expect(parseBindAddress('')).toBeUndefined();
  });

  it.each(['8080', ':', ':65536', 'host', '::1:80', ':80x'])('rejects %j', (input) => {
    expect(() => parseBindAddress(input)).toThrow(/invalid bind address/);
  });
});

describe('probe server', () => {
  it('serves /healthz from the heartbeat and /readyz from the ready checks', async () => {
    const probes = await startProbeServer({ bindAddress: '127.0.0.1:0' });
    closers.push(() => probes.close());
    expect(probes.port).toBeGreaterThan(0);
    const port = probes.port!;

    expect(await get(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });

    let synced = false;
    probes.addReadyCheck('informers', () => synced);
    probes.addReadyCheck('leader', async () => {});
    const notReady = await get(port, '/readyz');
    expect(notReady.status).toBe(500);
    expect(notReady.body).toBe('[-]informers failed: check returned false\n[+]leader ok\nreadyz check failed\n');

    synced = true;
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(port, '/readyz?verbose')).body).toBe('[+]informers ok\n[+]leader ok\nreadyz check passed\n');
    expect((await get(port, '/healthz?verbose')).body).toBe('[+]ping ok\nhealthz check passed\n');
  });

  it('fails checks that throw, reject or hang, and reports custom health checks', async () => {
    const probes = await startProbeServer({ bindAddress: '127.0.0.1:0', checkTimeoutMs: 50 });
    closers.push(() => probes.close());
    probes.addHealthCheck('workers', () => {
      throw new Error('worker stuck for 600 s');
    });
    probes.addReadyCheck('slow', () => new Promise<void>(() => {}));
    probes.addReadyCheck('rejects', () => Promise.reject(new Error('no lease')));
    const health = await get(probes.port!, '/healthz');
    expect(health.status).toBe(500);
    expect(health.body).toContain('[+]ping ok');
    expect(health.body).toContain('[-]workers failed: worker stuck for 600 s');
    const ready = await get(probes.port!, '/readyz');
    expect(ready.status).toBe(500);
    expect(ready.body).toContain('[-]slow failed: timed out after 50 ms');
    expect(ready.body).toContain('[-]rejects failed: no lease');
  });

  it('fails /healthz when the event loop heartbeat is stale', async () => {
    const probes = await startProbeServer({
      bindAddress: '127.0.0.1:0',
      heartbeatIntervalMs: 1000,
      heartbeatStaleMs: 30,
    });
    closers.push(() => probes.close());
    const busyUntil = performance.now() + 60;
    while (performance.now() < busyUntil) {
      // block the event loop so the heartbeat cannot tick
    }
    const res = await get(probes.port!, '/healthz');
    expect(res.status).toBe(500);
    expect(res.body).toMatch(/\[-\]ping failed: event loop heartbeat is \d+ ms old/);
  });

  it('answers 404 for other paths, 405 for other methods, and HEAD without a body', async () => {
    const probes = await startProbeServer({ bindAddress: '127.0.0.1:0' });
    closers.push(() => probes.close());
    expect((await get(probes.port!, '/metrics')).status).toBe(404);
    expect((await get(probes.port!, '/healthz', 'POST')).status).toBe(405);
    expect(await get(probes.port!, '/healthz', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('is disabled by "0" but still accepts checks', async () => {
    const probes = await startProbeServer({ bindAddress: '0' });
    expect(probes.port).toBeUndefined();
    probes.addReadyCheck('x', () => true);
    await probes.close();
  });

  it('closes gracefully, also with an open keep-alive connection', async () => {
    const probes = await startProbeServer({ bindAddress: '127.0.0.1:0' });
    const port = probes.port!;
    const agent = new Agent({ keepAlive: true });
    await get(port, '/healthz', 'GET', agent);
    const started = performance.now();
    await probes.close();
    expect(performance.now() - started).toBeLessThan(1000); // idle keep-alive socket closed, no 5 s wait
    agent.destroy();
    await expect(get(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('reports a port already in use', async () => {
    const first = await startProbeServer({ bindAddress: '127.0.0.1:0' });
    closers.push(() => first.close());
    await expect(startProbeServer({ bindAddress: `127.0.0.1:${first.port}` })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('metrics server', () => {
  it('serves the registry on /metrics', async () => {
    const metrics = new RuntimeMetrics();
    metrics.controller('memcached').reconciled('success', 0.1);
    const server = await startMetricsServer({ bindAddress: '127.0.0.1:0', registry: metrics.registry });
    closers.push(() => server.close());
    const res = await get(server.port!, '/metrics');
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('text/plain');
    expect(res.body).toContain('controller_runtime_reconcile_total{controller="memcached",result="success"} 1');
    expect(res.body).toContain('process_cpu_seconds_total');
    expect((await get(server.port!, '/')).status).toBe(404);
  });

  it('is disabled by "0"', async () => {
    const server = await startMetricsServer({ bindAddress: '0', registry: new RuntimeMetrics().registry });
    expect(server.port).toBeUndefined();
    await server.close();
  });
});
