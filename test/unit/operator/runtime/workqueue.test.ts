import { describe, expect, it } from '@jest/globals';
import { runWorkers, type ControllerMetrics, type ReconcileOutcome } from '../../../../operator/runtime/controller';
import {
  ExponentialBackoff,
  WorkQueue,
  type InFlightStats,
  type WorkQueueMetrics,
} from '../../../../operator/runtime/workqueue';
import { sleep as wait } from '../../../support/wait';
import { gate, tick } from './gate';

/** Gets the next key or fails after `ms`. */
async function getWithin(q: WorkQueue, ms = 500): Promise<string | undefined> {
  return Promise.race([q.get(), wait(ms).then(() => 'TIMEOUT')]);
}

describe('WorkQueue basics', () => {
  it('hands out keys in FIFO order and collapses duplicates', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    q.add('b');
    expect(q.len()).toBe(3);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(await q.get()).toBe('c');
    expect(q.len()).toBe(0);
  });

  it('get() waits for an add', async () => {
    const q = new WorkQueue({ name: 't' });
    const pending = q.get();
    await tick();
    q.add('x');
    expect(await pending).toBe('x');
  });

  it('never hands a key being processed to a second getter; a re-add is queued after done()', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a'); // dirty while processing
    expect(q.len()).toBe(0);
    q.add('a'); // still collapses into the one dirty mark
    q.done('a');
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('done() without a re-add does not requeue', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    await q.get();
    q.done('a');
    expect(q.len()).toBe(0);
    expect(await getWithin(q, 20)).toBe('TIMEOUT');
  });

  it('a waiting getter does not receive a key that is being processed', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    await q.get();
    q.add('a');
    expect(await getWithin(q, 30)).toBe('TIMEOUT');
  });

  it('a getter already waiting receives a key queued by done()', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    await q.get();
    const waiting = q.get();
    q.add('a');
    await tick();
    q.done('a');
    expect(await waiting).toBe('a');
  });
});

describe('WorkQueue delays and backoff', () => {
  it('addAfter delays the add and keeps only the earliest pending time', async () => {
    const q = new WorkQueue({ name: 't' });
    // Delays far apart, so a loaded machine cannot blur which one fired.
    q.addAfter('a', 1200);
    q.addAfter('a', 30); // earlier: replaces
    q.addAfter('a', 1300); // later: ignored
    expect(q.len()).toBe(0);
    const start = performance.now();
    expect(await getWithin(q, 3000)).toBe('a');
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(25);
    expect(elapsed).toBeLessThan(1000);
    q.done('a');
    expect(await getWithin(q, 1600)).toBe('TIMEOUT'); // the 1200/1300 ms adds were dropped
  });

  it('addAfter with a non-positive delay adds immediately', async () => {
    const q = new WorkQueue({ name: 't' });
    q.addAfter('a', 0);
    expect(q.len()).toBe(1);
  });

  it('ExponentialBackoff doubles from the base, caps at the max, and forget() resets', () => {
    const b = new ExponentialBackoff(5, 1000);
    const delays = Array.from({ length: 10 }, () => b.when('k'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(b.retries('k')).toBe(10);
    expect(b.when('other')).toBe(5); // per key
    b.forget('k');
    expect(b.retries('k')).toBe(0);
    expect(b.when('k')).toBe(5);
  });

  it('defaults to controller-runtime values (5 ms base, 1000 s cap)', () => {
    const b = new ExponentialBackoff();
    expect(b.when('k')).toBe(5);
    for (let i = 0; i < 40; i++) b.when('k');
    expect(b.when('k')).toBe(1_000_000);
  });

  it('addRateLimited waits the growing backoff; forget resets it', async () => {
    // 100 ms doubling: the steps are far enough apart for a loaded machine.
    const q = new WorkQueue({ name: 't', backoff: new ExponentialBackoff(100, 10_000) });
    const timeFor = async () => {
      const start = performance.now();
      q.addRateLimited('k');
      const key = await getWithin(q, 2000);
      q.done('k');
      expect(key).toBe('k');
      return performance.now() - start;
    };
    expect(await timeFor()).toBeGreaterThanOrEqual(95); // 100
    expect(await timeFor()).toBeGreaterThanOrEqual(195); // 200
    expect(await timeFor()).toBeGreaterThanOrEqual(395); // 400
    expect(q.numRequeues('k')).toBe(3);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    expect(await timeFor()).toBeLessThan(390); // back to 100, well short of the next step (800)
  });
});

describe('WorkQueue shutdown', () => {
  it('shutDown releases waiting getters, hands out nothing more and ignores adds', async () => {
    const q = new WorkQueue({ name: 't' });
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  it('queued keys are not handed out after shutDown', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.shutDown();
    expect(await q.get()).toBeUndefined();
  });

  it('cancels delayed adds so no timer keeps the process alive', async () => {
    const q = new WorkQueue({ name: 't' });
    q.addAfter('a', 30);
    q.addRateLimited('b');
    q.shutDown();
    await wait(60);
    expect(q.len()).toBe(0);
  });

  it('drain() resolves once in-flight keys are done, and a dirty key is not requeued', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    await q.get();
    await q.get();
    q.add('a');
    q.shutDown();
    let drained = false;
    const draining = q.drain().then(() => (drained = true));
    q.done('a');
    await tick();
    expect(drained).toBe(false);
    q.done('b');
    await draining;
    expect(q.len()).toBe(0);
  });

  it('drain() resolves immediately when idle', async () => {
    const q = new WorkQueue({ name: 't' });
    await expect(q.drain()).resolves.toBeUndefined();
  });
});

describe('WorkQueue metric hooks', () => {
  it('reports adds, depth, durations, retries, in-flight work and reconcile outcomes', async () => {
    const events: string[] = [];
    const depths: number[] = [];
    let inFlight: (() => InFlightStats) | undefined;
    const queueMetrics: WorkQueueMetrics = {
      add: () => events.push('add'),
      depth: (n) => depths.push(n),
      queueDuration: (s) => events.push(s >= 0 ? 'queued' : 'bad'),
      workDuration: (s) => events.push(s >= 0 ? 'worked' : 'bad'),
      retry: () => events.push('retry'),
      trackInFlight: (read) => (inFlight = read),
    };
    const outcomes: ReconcileOutcome[] = [];
    let active = 0;
    let max = 0;
    const controllerMetrics: ControllerMetrics = {
      setMaxConcurrent: (n) => (max = n),
      activeWorkers: (d) => (active += d),
      reconciled: (r) => outcomes.push(r),
    };
    const q = new WorkQueue({ name: 't', metrics: queueMetrics, backoff: new ExponentialBackoff(5, 5) });
    const hold = gate();
    let calls = 0;
    const run = runWorkers(
      q,
      2,
      async (key) => {
        calls++;
        if (key === 'slow') await hold.opened;
        if (key === 'err' && calls < 10) throw new Error('x');
        if (key === 'later') return { requeueAfter: 10_000 };
        return {};
      },
      { metrics: controllerMetrics },
    );
    expect(max).toBe(2);
    q.add('slow');
    await wait(30);
    expect(active).toBe(1);
    const stats = inFlight!();
    expect(stats.longestSeconds).toBeGreaterThan(0.02);
    expect(stats.unfinishedSeconds).toBeGreaterThanOrEqual(stats.longestSeconds);
    q.add('err');
    q.add('later');
    await wait(40);
    hold.open();
    await wait(20);
    q.shutDown();
    await run;
    expect(active).toBe(0);
    expect(events.filter((e) => e === 'add').length).toBeGreaterThanOrEqual(3);
    expect(events).toContain('queued');
    expect(events).toContain('worked');
    expect(events).toContain('retry');
    expect(events).not.toContain('bad');
    expect(depths.length).toBeGreaterThan(0);
    expect(outcomes).toEqual(expect.arrayContaining(['success', 'error', 'requeue_after']));
  });
});

describe('WorkQueue priorities', () => {
  it('hands out high-priority keys first, FIFO within each priority', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('n1');
    q.add('h1', 'high');
    q.add('n2');
    q.add('h2', 'high');
    expect(q.len()).toBe(4);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) order.push(await q.get());
    expect(order).toEqual(['h1', 'h2', 'n1', 'n2']);
  });

  it('moves a queued key up when it is added with high priority, never down', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('c', 'high');
    q.add('b', 'high'); // promoted behind c
    q.add('c'); // a normal add leaves c where it is
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'b', 'a']);
  });

  it('re-queues a key re-added while processing with the highest priority it was added with', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('x');
    q.add('a'); // dirty, normal
    q.add('a', 'high'); // now high
    q.done('a');
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('x');

    q.add('b');
    expect(await q.get()).toBe('b');
    q.add('y');
    q.add('b'); // normal only: queued behind y
    q.done('b');
    expect(await q.get()).toBe('y');
    expect(await q.get()).toBe('b');
  });

  it('runWorkers reconciles new objects before a backlog of status refreshes', async () => {
    const q = new WorkQueue({ name: 't' });
    for (let i = 0; i < 20; i++) q.add(`refresh-${i}`);
    const seen: string[] = [];
    const release = gate();
    const run = runWorkers(q, 1, async (key) => {
      seen.push(key);
      if (key === 'refresh-0') await release.opened; // the new object arrives while a refresh runs
    });
    await tick();
    q.add('new', 'high');
    release.open();
    while (seen.length < 21) await tick();
    q.shutDown();
    await run;
    expect(seen[0]).toBe('refresh-0');
    expect(seen[1]).toBe('new');
  });
});
