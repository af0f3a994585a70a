// The generic controller runtime with a made-up primary type and a fake reconciler over the
// real work queue, store, handlers and predicates (pure logic, no API server): what a second
// controller would use, exercised without Memcached.
import { describe, expect, it } from '@jest/globals';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { Store } from '../../../../operator/runtime/cache/store';
import {
  Controller,
  runWorkers,
  type ControllerMetrics,
  type ReconcileOutcome,
} from '../../../../operator/runtime/controller';
import { ApiError, TerminalError, isTerminalApiError, httpStatus } from '../../../../operator/runtime/errors';
import { DEFAULT_OPTIONS } from '../../../../operator/runtime/flags';
import { delayed, enqueueForObject, enqueueForOwner, enqueueMapped } from '../../../../operator/runtime/handler';
import { createLogger } from '../../../../operator/runtime/log';
import { Manager } from '../../../../operator/runtime/manager/manager';
import { RuntimeMetrics } from '../../../../operator/runtime/metrics';
import { keyOf, type KubeObject, type OwnerReference } from '../../../../operator/runtime/object';
import { or, specChanged } from '../../../../operator/runtime/predicate';
import { ExponentialBackoff, WorkQueue } from '../../../../operator/runtime/workqueue';
import { sleep as wait, waitFor } from '../../../support/wait';
import { gate, tick } from './gate';

const until = (cond: () => boolean) => waitFor('condition', cond, { timeoutMs: 2000, intervalMs: 2 });

describe('runWorkers', () => {
  it('respects the worker count and never processes one key concurrently', async () => {
    const q = new WorkQueue({ name: 't' });
    let active = 0;
    let maxActive = 0;
    const activeKeys = new Set<string>();
    let overlap = false;
    const processed: string[] = [];
    const run = runWorkers(q, 3, async (key) => {
      if (activeKeys.has(key)) overlap = true;
      activeKeys.add(key);
      maxActive = Math.max(maxActive, ++active);
      await wait(15);
      processed.push(key);
      active--;
      activeKeys.delete(key);
    });
    for (let round = 0; round < 5; round++) {
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(key);
      await wait(5);
    }
    await wait(200);
    q.shutDown();
    await run;
    expect(maxActive).toBe(3);
    expect(overlap).toBe(false);
    expect(new Set(processed)).toEqual(new Set(['a', 'b', 'c', 'd', 'e', 'f']));
  });

  it('a key re-added while its handler runs is processed again afterwards', async () => {
    const q = new WorkQueue({ name: 't' });
    const first = gate();
    const calls: number[] = [];
    const run = runWorkers(q, 2, async () => {
      calls.push(performance.now());
      if (calls.length === 1) await first.opened;
    });
    q.add('a');
    await tick();
    q.add('a');
    q.add('a');
    await wait(20);
    expect(calls).toHaveLength(1);
    first.open();
    await wait(20);
    expect(calls).toHaveLength(2);
    q.shutDown();
    await run;
  });

  it('retries a throwing handler with backoff and forgets the key after success', async () => {
    const q = new WorkQueue({ name: 't', backoff: new ExponentialBackoff(10, 1000) });
    const attempts: number[] = [];
    const requeuesSeen: number[] = [];
    const run = runWorkers(q, 1, async (key) => {
      attempts.push(performance.now());
      requeuesSeen.push(q.numRequeues(key));
      if (attempts.length < 4) throw new Error('boom');
    });
    q.add('k');
    await wait(250);
    expect(attempts).toHaveLength(4);
    expect(requeuesSeen).toEqual([0, 1, 2, 3]);
    expect(q.numRequeues('k')).toBe(0); // forgotten after success
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(8); // 10 ms
    expect(gaps[1]).toBeGreaterThanOrEqual(18); // 20 ms
    expect(gaps[2]).toBeGreaterThanOrEqual(38); // 40 ms
    q.shutDown();
    await run;
  });

  it('requeueAfter re-adds after the delay and resets the backoff; requeue uses the backoff', async () => {
    const q = new WorkQueue({ name: 't', backoff: new ExponentialBackoff(10, 1000) });
    const seen: Array<[string, number]> = [];
    const start = performance.now();
    const run = runWorkers(q, 1, async (key) => {
      seen.push([key, performance.now() - start]);
      const n = seen.filter(([k]) => k === key).length;
      if (key === 'after' && n === 1) return { requeueAfter: 60 };
      if (key === 'again' && n === 1) return { requeue: true };
      return {};
    });
    q.addRateLimited('after'); // counts one retry, then requeueAfter must forget it
    await wait(30);
    q.add('again');
    await wait(150);
    q.shutDown();
    await run;
    const after = seen.filter(([k]) => k === 'after').map(([, t]) => t);
    expect(after).toHaveLength(2);
    expect(after[1] - after[0]).toBeGreaterThanOrEqual(55);
    expect(seen.filter(([k]) => k === 'again')).toHaveLength(2);
    expect(q.numRequeues('after')).toBe(0);
    expect(q.numRequeues('again')).toBe(0);
  });

  it('resolves only after in-flight handlers finish following shutDown', async () => {
    const q = new WorkQueue({ name: 't' });
    const release = gate();
    let finished = false;
    const run = runWorkers(q, 1, async () => {
      await release.opened;
      finished = true;
    });
    q.add('a');
    await tick();
    q.shutDown();
    let runDone = false;
    void run.then(() => (runDone = true));
    await wait(20);
    expect(runDone).toBe(false);
    release.open();
    await run;
    expect(finished).toBe(true);
  });

  it('rejects an invalid worker count', async () => {
    await expect(runWorkers(new WorkQueue({ name: 't' }), 0, async () => {})).rejects.toThrow(/workers/);
  });
});

describe('runWorkers with terminal errors', () => {
  it('logs a TerminalError, counts it as an error and does not retry the key', async () => {
    const lines: any[] = [];
    const log = createLogger({ write: (l) => void lines.push(JSON.parse(l)) });
    const q = new WorkQueue({ name: 't', backoff: new ExponentialBackoff(5, 1000), log });
    const outcomes: ReconcileOutcome[] = [];
    const metrics: ControllerMetrics = {
      setMaxConcurrent: () => {},
      activeWorkers: () => {},
      reconciled: (r) => void outcomes.push(r),
    };
    let calls = 0;
    const run = runWorkers(
      q,
      1,
      async () => {
        calls++;
        throw new TerminalError('spec.size is negative');
      },
      { metrics },
    );
    q.add('ns/bad');
    await until(() => outcomes.length === 1);
    await wait(60); // a retry with backoff would have come after 5 ms
    q.shutDown();
    await run;
    expect(calls).toBe(1);
    expect(outcomes).toEqual(['error']);
    expect(q.numRequeues('ns/bad')).toBe(0);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'reconcile failed with a terminal error, not retrying',
        key: 'ns/bad',
        namespace: 'ns',
        name: 'bad',
        error: 'spec.size is negative',
      }),
    ]);
  });

  it("logs a failed reconcile with the object, the HTTP status, the server's reason and message", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l) => void lines.push(JSON.parse(l)) });
    const q = new WorkQueue({ name: 't', backoff: new ExponentialBackoff(1000, 1000), log });
    const message =
      'services "cache" is forbidden: exceeded quota: services, requested: services=1, used: services=0, limited: services=0';
    const run = runWorkers(
      q,
      1,
      async () => {
        throw new ApiException(
          403,
          'Unknown API Status Code!',
          JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message }),
          { 'audit-id': 'x' },
        );
      },
      { log },
    );
    q.add('team-a/cache');
    await until(() => lines.some((l) => l.msg === 'reconcile failed'));
    q.shutDown();
    await run;
    const line = lines.find((l) => l.msg === 'reconcile failed');
    expect(line).toMatchObject({
      level: 'error',
      namespace: 'team-a',
      name: 'cache',
      httpStatus: 403,
      statusReason: 'Forbidden',
      error: message,
      retries: 0,
    });
    expect(JSON.stringify(line)).not.toMatch(/HTTP-Code|audit-id/);
  });

  it('classifies API errors by their HTTP status', () => {
    expect(httpStatus(new ApiError(404, 'GET /x: not found', {}, {}))).toBe(404);
    expect(isTerminalApiError(new ApiError(403, 'PATCH /x: forbidden', {}, {}))).toBe(true);
    expect(httpStatus({ code: 422 })).toBe(422);
    expect(httpStatus({ statusCode: 410 })).toBe(410);
    expect(httpStatus(new Error('ECONNREFUSED'))).toBeUndefined();
    expect(httpStatus({ code: 'ECONNRESET' })).toBeUndefined();
    expect([400, 403, 422].map((code) => isTerminalApiError({ code }))).toEqual([true, true, true]);
    expect([409, 429, 500, 503].map((code) => isTerminalApiError({ code }))).toEqual([false, false, false, false]);
    expect(isTerminalApiError(new Error('socket hang up'))).toBe(false);
  });
});

// A second controller, made up: Widgets own Parts (controller owner reference) and are
// referenced by Gadgets through a label.
const GROUP = 'toys.example.com';
const widget = (name: string, generation = 1, status?: object): KubeObject => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'Widget',
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation, resourceVersion: String(Math.random()) },
  status,
});
const ownerRef = (kind: string, name: string, apiVersion = `${GROUP}/v1`): OwnerReference => ({
  apiVersion,
  kind,
  name,
  uid: `uid-${name}`,
  controller: true,
});
const part = (name: string, owner?: OwnerReference): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: String(Math.random()), ownerReferences: owner ? [owner] : [] },
});

function widgetController() {
  const widgets = new Store();
  const parts = new Store();
  const gadgets = new Store();
  const reconciled: string[] = [];
  const controller = new Controller({
    name: 'widget',
    workers: 2,
    reconcile: async (key) => {
      reconciled.push(key);
    },
  });
  controller
    .watch(
      widgets,
      enqueueForObject({ create: 'high' }),
      or(specChanged, { update: (_old, cur) => cur.status?.note !== 'own write' }),
    )
    .watch(
      parts,
      enqueueForOwner({ group: GROUP, kind: 'Widget' }, { unowned: (p) => (widgets.get(keyOf(p)) ? [keyOf(p)] : []) }),
    )
    .watch(
      gadgets,
      enqueueMapped((g) => (g.metadata.labels?.widget ? [`ns/${g.metadata.labels.widget}`] : [])),
    );
  return { widgets, parts, gadgets, reconciled, controller };
}

describe('Controller (generic)', () => {
  it('reconciles the primary type, owned objects via their owner and mapped objects', async () => {
    const { widgets, parts, gadgets, reconciled, controller } = widgetController();
    const run = controller.start();
    widgets.upsert(widget('w1'));
    await until(() => reconciled.length === 1);
    expect(reconciled).toEqual(['ns/w1']);

    parts.upsert(part('w1-config', ownerRef('Widget', 'w1')));
    await until(() => reconciled.length === 2);
    expect(reconciled[1]).toBe('ns/w1');

    // controlled by something else, or by a Widget of another group: not ours; no same-name Widget
    parts.upsert(part('other', ownerRef('Deployment', 'x', 'apps/v1')));
    parts.upsert(part('lookalike', ownerRef('Widget', 'w9', 'toys.example.org/v1')));
    // an unowned object with the name of a Widget concerns that Widget
    parts.upsert(part('w1'));
    gadgets.upsert({ metadata: { name: 'g', namespace: 'ns', labels: { widget: 'w2' } } });
    await until(() => reconciled.length === 4);
    await wait(20);
    expect(reconciled.slice(2).sort()).toEqual(['ns/w1', 'ns/w2']);

    parts.remove(part('w1-config', ownerRef('Widget', 'w1')));
    await until(() => reconciled.length === 5);
    expect(reconciled[4]).toBe('ns/w1');

    await controller.shutDown();
    await run;
  });

  it('applies predicates: a status echo is dropped, a new generation or a deletion is not', async () => {
    const { widgets, reconciled, controller } = widgetController();
    const run = controller.start();
    widgets.upsert(widget('w1', 1));
    await until(() => reconciled.length === 1);
    widgets.upsert(widget('w1', 1, { note: 'own write' }));
    await wait(30);
    expect(reconciled).toHaveLength(1);
    widgets.upsert(widget('w1', 1, { note: 'somebody else' }));
    await until(() => reconciled.length === 2);
    widgets.upsert(widget('w1', 2, { note: 'own write' }));
    await until(() => reconciled.length === 3);
    widgets.remove(widget('w1', 2, { note: 'own write' }));
    await until(() => reconciled.length === 4);
    expect(reconciled).toEqual(['ns/w1', 'ns/w1', 'ns/w1', 'ns/w1']);
    await controller.shutDown();
    await run;
  });

  it('hands high-priority keys to workers before queued normal ones', async () => {
    const q = { keys: [] as string[][] };
    const handler = enqueueForObject<KubeObject>({
      create: 'high',
      update: (old, cur) => (specChanged.update!(old, cur) ? 'high' : 'normal'),
    });
    const add = (key: string, priority = 'normal') => void q.keys.push([key, priority]);
    const queue = { add, addAfter: () => {} };
    handler.create!(widget('a'), queue);
    handler.update!(widget('a', 1), widget('a', 1), queue);
    handler.update!(widget('a', 1), widget('a', 2), queue);
    handler.delete!(widget('a'), queue);
    expect(q.keys).toEqual([
      ['ns/a', 'high'],
      ['ns/a', 'normal'],
      ['ns/a', 'high'],
      ['ns/a', 'normal'],
    ]);
  });

  it('delayed(): events within the delay collapse into one reconcile; a zero delay queues at once', async () => {
    const widgets = new Store<KubeObject>();
    const reconciled: string[] = [];
    const controller = new Controller({
      name: 'widget',
      workers: 2,
      reconcile: async (key) => void reconciled.push(key),
    });
    // updates are coalesced for 80 ms; deletes go at once
    controller.watch(
      widgets,
      delayed(enqueueForObject<KubeObject>(), (event) => (event === 'delete' ? 0 : 80)),
    );
    const run = controller.start();
    widgets.upsert(widget('w1', 1));
    for (let i = 0; i < 5; i++) widgets.upsert(widget('w1', 1, { note: `n${i}` }));
    await wait(30);
    expect(reconciled).toEqual([]); // still waiting
    await until(() => reconciled.length === 1);
    await wait(100);
    expect(reconciled).toEqual(['ns/w1']); // six events, one reconcile
    widgets.remove(widget('w1', 1));
    await wait(20);
    expect(reconciled).toEqual(['ns/w1', 'ns/w1']);
    await controller.shutDown();
    await run;
  });

  it('rejects a bad name or worker count', () => {
    expect(() => new Controller({ name: 'Widget Controller', workers: 1, reconcile: async () => {} })).toThrow(
      /DNS label/,
    );
    expect(() => new Controller({ name: 'widget', workers: 0, reconcile: async () => {} })).toThrow(/workers/);
  });
});

describe('Manager registration', () => {
  const manager = () =>
    new Manager({
      name: 'toy-operator',
      options: { ...DEFAULT_OPTIONS, maxConcurrentReconciles: 3 },
      kubeConfig: new KubeConfig(),
      log: createLogger({ write: () => {} }),
      metrics: new RuntimeMetrics({ defaultMetrics: false }),
    });
  const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };

  it('shares one informer per resource and selector between controllers', () => {
    const mgr = manager();
    const a = mgr.informer(CONFIGMAPS);
    expect(mgr.informer(CONFIGMAPS)).toBe(a);
    expect(mgr.informer(CONFIGMAPS, { labelSelector: 'app=x' })).not.toBe(a);
    expect(mgr.informer({ ...CONFIGMAPS, group: 'toys.example.com', plural: 'widgets' })).not.toBe(a);
  });

  it('registers several controllers, each with its own queue and the default worker count', async () => {
    const mgr = manager();
    const one = mgr.newController({ name: 'widget', reconcile: async () => {} });
    const two = mgr.newController({ name: 'gadget', workers: 1, reconcile: async () => {} });
    expect([one.workers, two.workers]).toEqual([3, 1]);
    expect(one.queue).not.toBe(two.queue);
    expect(() => mgr.newController({ name: 'widget', reconcile: async () => {} })).toThrow(/already registered/);
    // the queue metrics carry the controller name
    one.queue.add('ns/a');
    expect(await mgr.metrics.registry.getSingleMetricAsString('workqueue_adds_total')).toContain(
      'workqueue_adds_total{name="widget",controller="widget"} 1',
    );
  });
});
