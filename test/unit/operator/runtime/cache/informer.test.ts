// The informer against a scripted in-process HTTP endpoint speaking the list/watch protocol, so
// the real client-node Watch and request stack is exercised and failure modes a real API server
// rarely shows (410 mid-watch, a silent watch, 500s) are deterministic. Behaviour against a
// real kube-apiserver belongs in the integration suite.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Informer, type InformerOptions } from '../../../../../operator/runtime/cache/informer';
import type { WatchRestartReason } from '../../../../../operator/runtime/cache/reflector';
import { controllerUidIndex } from '../../../../../operator/runtime/cache/store';
import { objectKey, resourcePath, type KubeObject } from '../../../../../operator/runtime/object';
import { createLogger } from '../../../../../operator/runtime/log';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await wait(5);
  }
}

interface Pod extends KubeObject {
  spec?: { v: number };
}

function pod(namespace: string, name: string, rv: string, extra: Partial<Pod['metadata']> = {}): Pod {
  return { metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: rv, ...extra }, spec: { v: Number(rv) } };
}

interface WatchRequest {
  path: string;
  query: URLSearchParams;
  res: ServerResponse;
  closed: boolean;
}

/** A scripted API endpoint: lists come from `objects`, watches stay open until the test ends them. */
class FakeApi {
  objects = new Map<string, Pod[]>(); // path → items
  listRV = '100';
  pageSize: number | undefined;
  failWatches = 0;
  lists: URLSearchParams[] = [];
  watches: WatchRequest[] = [];
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Sends a watch event on the most recent open watch of `path`. */
  send(path: string, type: string, object: unknown): void {
    const w = this.openWatch(path);
    w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  openWatch(path: string): WatchRequest {
    const w = this.watches.filter((x) => x.path === path && !x.closed).at(-1);
    if (!w) throw new Error(`no open watch on ${path}`);
    return w;
  }

  endWatch(path: string): void {
    this.openWatch(path).res.end();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, 'http://x');
    if (url.searchParams.get('watch') === 'true') {
      if (this.failWatches > 0) {
        this.failWatches--;
        res.writeHead(500).end('{"kind":"Status","code":500,"message":"boom"}');
        return;
      }
      const w: WatchRequest = { path: url.pathname, query: url.searchParams, res, closed: false };
      res.on('close', () => (w.closed = true));
      this.watches.push(w);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      return;
    }
    this.lists.push(url.searchParams);
    const items = this.objects.get(url.pathname) ?? [];
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const start = Number(url.searchParams.get('continue') ?? 0);
    const size = this.pageSize ?? limit;
    const page = size ? items.slice(start, start + size) : items;
    const next = size && start + size < items.length ? String(start + size) : undefined;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PodList',
        metadata: { resourceVersion: this.listRV, ...(next ? { continue: next } : {}) },
        items: page,
      }),
    );
  }
}

const PODS = { group: '', version: 'v1', plural: 'pods', namespaced: true };
const NS_A = '/api/v1/namespaces/a/pods';
const NS_B = '/api/v1/namespaces/b/pods';

let api: FakeApi;
const informers: Informer<Pod>[] = [];

async function setup(options: Partial<InformerOptions> = {}) {
  api = new FakeApi();
  await api.start();
  const restarts: WatchRestartReason[] = [];
  const events: string[] = [];
  const logs: string[] = [];
  const informer = new Informer<Pod>({
    kubeConfig: api.kubeConfig(),
    resource: PODS,
    namespaces: ['a'],
    maxBackoffMs: 50,
    log: createLogger({ level: -1, write: (l) => logs.push(l) }),
    metrics: { listed: () => {}, watchRestarted: (r) => restarts.push(r), event: () => {}, objects: () => {} },
    ...options,
  });
  informer.addEventHandler({
    onAdd: (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onUpdate: (old, o) =>
      events.push(`update ${o.metadata.name}@${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  informers.push(informer);
  return { informer, restarts, events, logs };
}

afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
  await api?.close();
});

describe('resource paths and keys', () => {
  it('builds core, group, namespaced and cluster-wide paths', () => {
    expect(resourcePath(PODS, 'a')).toBe('/api/v1/namespaces/a/pods');
    expect(resourcePath(PODS)).toBe('/api/v1/pods');
    const memcached = { group: 'cache.example.com', version: 'v1alpha1', plural: 'memcacheds', namespaced: true };
    expect(resourcePath(memcached, 'x')).toBe('/apis/cache.example.com/v1alpha1/namespaces/x/memcacheds');
    expect(
      resourcePath(
        { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', namespaced: false },
        'x',
      ),
    ).toBe('/apis/rbac.authorization.k8s.io/v1/clusterroles');
    expect(objectKey('ns', 'n')).toBe('ns/n');
    expect(objectKey(undefined, 'n')).toBe('n');
  });

  it('controllerUidIndex returns only the controller owner', () => {
    const owned = pod('a', 'p', '1', {
      ownerReferences: [
        { apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u1' },
        { apiVersion: 'v1', kind: 'Y', name: 'y', uid: 'u2', controller: true },
      ],
    });
    expect(controllerUidIndex(owned)).toEqual(['u2']);
    expect(controllerUidIndex(pod('a', 'q', '1'))).toEqual([]);
  });
});

describe('Informer', () => {
  it('lists page by page, fills in apiVersion/kind, then watches from the list resourceVersion with bookmarks', async () => {
    const { informer, events } = await setup({ pageSize: 2 });
    api.objects.set(NS_A, [pod('a', 'p1', '10'), pod('a', 'p2', '11'), pod('a', 'p3', '12')]);
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    expect(api.lists.map((q) => [q.get('limit'), q.get('continue')])).toEqual([
      ['2', null],
      ['2', '2'],
    ]);
    expect(events).toEqual(['add p1@10', 'add p2@11', 'add p3@12']);
    expect(informer.get('a', 'p2')).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p2' } });
    expect(informer.list('a')).toHaveLength(3);
    expect(informer.list('other')).toHaveLength(0);
    await until(() => api.watches.length === 1);
    expect(api.watches[0].path).toBe(NS_A);
    expect(api.watches[0].query.get('resourceVersion')).toBe('100');
    expect(api.watches[0].query.get('allowWatchBookmarks')).toBe('true');
    expect(Number(api.watches[0].query.get('timeoutSeconds'))).toBeGreaterThanOrEqual(300);
  });

  it('applies watch events, tracks bookmarks and resumes from the last resourceVersion when a watch ends', async () => {
    const { informer, events, restarts } = await setup();
    api.objects.set(NS_A, [pod('a', 'p1', '10')]);
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 1);
    api.send(NS_A, 'ADDED', { apiVersion: 'v1', kind: 'Pod', ...pod('a', 'p2', '101') });
    api.send(NS_A, 'MODIFIED', { apiVersion: 'v1', kind: 'Pod', ...pod('a', 'p1', '102') });
    api.send(NS_A, 'DELETED', { apiVersion: 'v1', kind: 'Pod', ...pod('a', 'p2', '103') });
    api.send(NS_A, 'BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '150' } });
    await until(() => events.length === 4);
    expect(events).toEqual(['add p1@10', 'add p2@101', 'update p1@10->102', 'delete p2']);
    expect(informer.get('a', 'p2')).toBeUndefined();
    expect(informer.get('a', 'p1')?.spec).toEqual({ v: 102 });

    await wait(20);
    api.endWatch(NS_A);
    await until(() => api.watches.length === 2);
    expect(api.watches[1].query.get('resourceVersion')).toBe('150');
    expect(api.lists).toHaveLength(1); // no relist
    expect(restarts).toEqual(['closed']);
  });

  it('relists on 410 Gone, emitting deletes for objects that disappeared meanwhile', async () => {
    const { informer, events, restarts } = await setup();
    api.objects.set(NS_A, [pod('a', 'p1', '10'), pod('a', 'p2', '11')]);
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 1);
    api.objects.set(NS_A, [pod('a', 'p1', '10'), pod('a', 'p3', '12')]);
    api.listRV = '200';
    api.send(NS_A, 'ERROR', {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version: 100 (150)',
    });
    await until(() => api.watches.length === 2);
    expect(api.lists).toHaveLength(2);
    expect(api.watches[1].query.get('resourceVersion')).toBe('200');
    expect(events).toEqual(['add p1@10', 'add p2@11', 'add p3@12', 'delete p2']); // p1 unchanged: no update
    expect(restarts).toEqual(['gone']);
  });

  it('logs recovery at info (relist after 410, watch restart after a failure) and the failure with its status', async () => {
    const { informer, logs } = await setup();
    api.objects.set(NS_A, [pod('a', 'p1', '10')]);
    api.failWatches = 1;
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 1);
    api.send(NS_A, 'ERROR', {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version: 100 (150)',
    });
    await until(() => api.watches.length === 2);
    const lines = logs.map((l) => JSON.parse(l));
    const at = (level: string) => lines.filter((l) => l.level === level).map((l) => l.msg);
    expect(at('info')).toEqual(['restarting watch', 'watch expired (410 Gone), relisting', 'relisted']);
    expect(lines.find((l) => l.msg === 'relisted')).toMatchObject({ count: 1, namespace: 'a', resource: 'pods' });
    expect(lines.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({
        msg: 'watch failed',
        httpStatus: 500,
        statusReason: 'Internal Server Error',
        error: expect.stringMatching(/^(boom|Internal Server Error)$/),
      }),
    ]);
    expect(logs.join('')).not.toMatch(/HTTP-Code|informer\.informer/);
  });

  it('restarts a silent watch after the watchdog period', async () => {
    const { informer, restarts } = await setup({ watchdogMs: 150 });
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 1);
    api.send(NS_A, 'BOOKMARK', { metadata: { resourceVersion: '120' } });
    await until(() => api.watches.length === 2, 1000);
    expect(restarts).toEqual(['watchdog']);
    expect(api.watches[1].query.get('resourceVersion')).toBe('120');
    await until(() => api.watches[0].closed);
  });

  it('backs off and retries after watch errors, and survives throwing handlers', async () => {
    const { informer, restarts, events, logs } = await setup();
    informer.addEventHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    informer.addEventHandler({ onAdd: async () => Promise.reject(new Error('async handler bug')) });
    api.objects.set(NS_A, [pod('a', 'p1', '10')]);
    api.failWatches = 3;
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 1);
    expect(restarts).toEqual(['error', 'error', 'error']);
    api.send(NS_A, 'ADDED', pod('a', 'p2', '101'));
    await until(() => events.includes('add p2@101'));
    await wait(10);
    const errors = logs.map((l) => JSON.parse(l)).filter((l) => l.level === 'error');
    expect(errors.filter((l) => l.msg === 'watch failed')).toHaveLength(3);
    expect(errors.filter((l) => l.msg === 'event handler failed').map((l) => l.error)).toEqual(
      expect.arrayContaining(['handler bug', 'async handler bug']),
    );
    // Each names the object it failed on.
    expect(
      errors
        .filter((l) => l.msg === 'event handler failed')
        .map((l) => `${l.namespace}/${l.name}`)
        .sort(),
    ).toEqual(['a/p1', 'a/p1', 'a/p2', 'a/p2']);
  });

  it('retries a failing list with backoff and only then reports synced', async () => {
    const { informer, restarts } = await setup();
    let failures = 2;
    const handle = api['handle'].bind(api);
    api['handle'] = (req: IncomingMessage, res: ServerResponse) => {
      if (!req.url!.includes('watch=true') && failures-- > 0)
        return void res.writeHead(503).end('{"message":"unavailable"}');
      handle(req, res);
    };
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    expect(restarts).toEqual(['error', 'error']);
  });

  it('runs one watch per namespace and is synced only when all are listed', async () => {
    const { informer } = await setup({ namespaces: ['a', 'b', 'a'] });
    api.objects.set(NS_A, [pod('a', 'p1', '10')]);
    api.objects.set(NS_B, [pod('b', 'p1', '11')]);
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 2);
    expect(api.watches.map((w) => w.path).sort()).toEqual([NS_A, NS_B]);
    expect(informer.list()).toHaveLength(2);
    expect(informer.get('b', 'p1')?.metadata.resourceVersion).toBe('11');
  });

  it('watches cluster-wide when no namespace is given and passes the label selector', async () => {
    const { informer } = await setup({ namespaces: [], labelSelector: 'app=memcached' });
    api.objects.set('/api/v1/pods', [pod('a', 'p1', '10'), pod('b', 'p1', '11')]);
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 1);
    expect(api.watches[0].path).toBe('/api/v1/pods');
    expect(api.watches[0].query.get('labelSelector')).toBe('app=memcached');
    expect(api.lists[0].get('labelSelector')).toBe('app=memcached');
    expect(informer.list('a')).toHaveLength(1);
  });

  it('maintains indexes through adds, updates and deletes', async () => {
    const { informer, events } = await setup();
    const owner = (uid: string) => ({
      ownerReferences: [{ apiVersion: 'v1', kind: 'M', name: uid, uid, controller: true }],
    });
    api.objects.set(NS_A, [pod('a', 'p1', '10', owner('m1')), pod('a', 'p2', '11', owner('m1'))]);
    informer.addIndex('owner', controllerUidIndex);
    informer.start();
    await informer.waitForSync();
    expect(
      informer
        .byIndex('owner', 'm1')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['p1', 'p2']);
    await until(() => api.watches.length === 1);
    api.send(NS_A, 'MODIFIED', pod('a', 'p2', '101', owner('m2')));
    api.send(NS_A, 'DELETED', pod('a', 'p1', '102', owner('m1')));
    await until(() => events.length === 4);
    expect(informer.byIndex('owner', 'm1')).toEqual([]);
    expect(informer.byIndex('owner', 'm2').map((o) => o.metadata.name)).toEqual(['p2']);
    informer.addIndex('name', (o) => [o.metadata.name]); // built over cached objects
    expect(informer.byIndex('name', 'p2')).toHaveLength(1);
    expect(() => informer.byIndex('nope', 'x')).toThrow(/no index/);
    expect(() => informer.addIndex('owner', controllerUidIndex)).toThrow(/already exists/);
  });

  it('resyncs by re-emitting updates for every cached object', async () => {
    const { informer, events } = await setup({ resyncPeriodMs: 60 });
    api.objects.set(NS_A, [pod('a', 'p1', '10')]);
    informer.start();
    await informer.waitForSync();
    await until(() => events.filter((e) => e === 'update p1@10->10').length >= 2, 1000);
  });

  it('stop() ends the watch and resolves; waitForSync() then resolves false', async () => {
    const { informer } = await setup();
    informer.start();
    await informer.waitForSync();
    await until(() => api.watches.length === 1);
    await informer.stop();
    await until(() => api.watches[0].closed);
    await wait(50);
    expect(api.watches).toHaveLength(1);
    expect(() => informer.start()).toThrow(/stopped/);
  });

  it('keeps only what the transform keeps; by default every object loses its managedFields', async () => {
    const managed = {
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
    } as Partial<Pod['metadata']>;
    const { informer } = await setup();
    api.objects.set(NS_A, [pod('a', 'p1', '10', managed)]);
    informer.start();
    await informer.waitForSync();
    expect(informer.get('a', 'p1')!.metadata).not.toHaveProperty('managedFields');
    expect(informer.get('a', 'p1')!.spec).toEqual({ v: 10 });
    await until(() => api.watches.length === 1);
    api.send(NS_A, 'ADDED', pod('a', 'p2', '101', managed));
    await until(() => informer.get('a', 'p2') !== undefined);
    expect(informer.get('a', 'p2')!.metadata).not.toHaveProperty('managedFields');

    const slim = new Informer<Pod>({
      kubeConfig: api.kubeConfig(),
      resource: PODS,
      namespaces: ['a'],
      transform: (o: Pod) => ({
        metadata: {
          name: o.metadata.name,
          namespace: o.metadata.namespace,
          resourceVersion: o.metadata.resourceVersion,
        },
      }),
    });
    informers.push(slim);
    slim.start();
    await slim.waitForSync();
    expect(slim.get('a', 'p1')).toEqual({ metadata: { name: 'p1', namespace: 'a', resourceVersion: '10' } });
  });

  it('reports a resource that does not exist (404) as missing, and lists it within ~2 s of its return', async () => {
    // the regular backoff would be long here; a missing resource is polled every 2 s at most
    const { informer, logs } = await setup({ maxBackoffMs: 60_000 });
    let exists = false;
    const handle = api['handle'].bind(api);
    api['handle'] = (req: IncomingMessage, res: ServerResponse) => {
      if (!exists)
        return void res
          .writeHead(404)
          .end(
            '{"kind":"Status","code":404,"reason":"NotFound","message":"the server could not find the requested resource"}',
          );
      handle(req, res);
    };
    api.objects.set(NS_A, [pod('a', 'p1', '10')]);
    informer.start();
    await until(() => informer.missing());
    expect(informer.hasSynced()).toBe(false);
    await wait(3500); // 1 s, 2 s, then 2 s again (capped)
    exists = true;
    const back = performance.now();
    expect(await informer.waitForSync()).toBe(true);
    expect(performance.now() - back).toBeLessThan(2600);
    expect(informer.missing()).toBe(false);
    expect(informer.get('a', 'p1')).toBeDefined();
    // logged once when it went missing, not on every retry
    expect(logs.map((l) => JSON.parse(l)).filter((l) => /does not exist/.test(l.msg))).toHaveLength(1);
  });

  it('stop() before the first sync resolves pending waitForSync() with false', async () => {
    const { informer } = await setup();
    api['handle'] = (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(500).end('{}');
    informer.start();
    const synced = informer.waitForSync();
    await wait(30);
    await informer.stop();
    expect(await synced).toBe(false);
  });
});
