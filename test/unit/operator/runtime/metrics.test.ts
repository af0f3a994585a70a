import { describe, expect, it } from '@jest/globals';
import { RuntimeMetrics } from '../../../../operator/runtime/metrics';
import { WorkQueue } from '../../../../operator/runtime/workqueue';

/** `name{labels} value` lines of one metric in the exposition text. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('RuntimeMetrics', () => {
  it('registers the controller-runtime, workqueue and leader election metric names', async () => {
    const text = await new RuntimeMetrics().registry.metrics();
    for (const [name, type] of [
      ['controller_runtime_reconcile_total', 'counter'],
      ['controller_runtime_reconcile_errors_total', 'counter'],
      ['controller_runtime_reconcile_time_seconds', 'histogram'],
      ['controller_runtime_active_workers', 'gauge'],
      ['controller_runtime_max_concurrent_reconciles', 'gauge'],
      ['workqueue_depth', 'gauge'],
      ['workqueue_adds_total', 'counter'],
      ['workqueue_queue_duration_seconds', 'histogram'],
      ['workqueue_work_duration_seconds', 'histogram'],
      ['workqueue_retries_total', 'counter'],
      ['workqueue_unfinished_work_seconds', 'gauge'],
      ['workqueue_longest_running_processor_seconds', 'gauge'],
      ['leader_election_master_status', 'gauge'],
      ['informer_lists_total', 'counter'],
      ['informer_watch_restarts_total', 'counter'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
  });

  it('can leave out the default process metrics', async () => {
    const text = await new RuntimeMetrics({ defaultMetrics: false }).registry.metrics();
    expect(text).not.toContain('process_cpu_seconds_total');
    expect(text).toContain('controller_runtime_reconcile_total');
  });

  it('records reconcile results with controller-runtime labels, zero-initialised', async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    const c = m.controller('memcached');
    c.setMaxConcurrent(2);
    c.activeWorkers(1);
    c.reconciled('success', 0.01);
    c.reconciled('error', 0.2);
    c.reconciled('error', 0.3);
    c.reconciled('requeue_after', 0.02);
    const text = await m.registry.metrics();
    expect(samples(text, 'controller_runtime_reconcile_total').sort()).toEqual(
      [
        'controller_runtime_reconcile_total{controller="memcached",result="success"} 1',
        'controller_runtime_reconcile_total{controller="memcached",result="error"} 2',
        'controller_runtime_reconcile_total{controller="memcached",result="requeue"} 0',
        'controller_runtime_reconcile_total{controller="memcached",result="requeue_after"} 1',
      ].sort(),
    );
    expect(samples(text, 'controller_runtime_reconcile_errors_total')).toEqual([
      'controller_runtime_reconcile_errors_total{controller="memcached"} 2',
    ]);
    expect(samples(text, 'controller_runtime_reconcile_time_seconds_count')).toEqual([
      'controller_runtime_reconcile_time_seconds_count{controller="memcached"} 4',
    ]);
    expect(text).toContain('controller_runtime_reconcile_time_seconds_bucket{le="0.005",controller="memcached"} 0');
    expect(text).toContain('controller_runtime_reconcile_time_seconds_bucket{le="60",controller="memcached"} 4');
    expect(samples(text, 'controller_runtime_max_concurrent_reconciles')).toEqual([
      'controller_runtime_max_concurrent_reconciles{controller="memcached"} 2',
    ]);
    expect(samples(text, 'controller_runtime_active_workers')).toEqual([
      'controller_runtime_active_workers{controller="memcached"} 1',
    ]);
  });

  it('wires a WorkQueue to the workqueue_* series, including in-flight gauges at scrape time', async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    const q = new WorkQueue({ name: 'memcached', metrics: m.workqueue('memcached') });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    let text = await m.registry.metrics();
    expect(samples(text, 'workqueue_depth')).toEqual(['workqueue_depth{name="memcached",controller="memcached"} 2']);
    expect(samples(text, 'workqueue_adds_total')).toEqual([
      'workqueue_adds_total{name="memcached",controller="memcached"} 2',
    ]);

    await q.get();
    await new Promise((r) => setTimeout(r, 20));
    text = await m.registry.metrics();
    expect(samples(text, 'workqueue_depth')).toEqual(['workqueue_depth{name="memcached",controller="memcached"} 1']);
    const longest = Number(samples(text, 'workqueue_longest_running_processor_seconds')[0].split(' ')[1]);
    expect(longest).toBeGreaterThan(0.01);
    expect(samples(text, 'workqueue_unfinished_work_seconds')).toHaveLength(1);
    expect(samples(text, 'workqueue_queue_duration_seconds_count')).toEqual([
      'workqueue_queue_duration_seconds_count{name="memcached",controller="memcached"} 1',
    ]);

    q.done('ns/a');
    q.addRateLimited('ns/a');
    q.shutDown();
    text = await m.registry.metrics();
    expect(samples(text, 'workqueue_retries_total')).toEqual([
      'workqueue_retries_total{name="memcached",controller="memcached"} 1',
    ]);
    expect(samples(text, 'workqueue_work_duration_seconds_count')).toEqual([
      'workqueue_work_duration_seconds_count{name="memcached",controller="memcached"} 1',
    ]);
    expect(samples(text, 'workqueue_longest_running_processor_seconds')).toEqual([
      'workqueue_longest_running_processor_seconds{name="memcached",controller="memcached"} 0',
    ]);
  });

  it('reports leader election status and informer activity', async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    const le = m.leaderElection('86f835c3.example.com');
    let text = await m.registry.metrics();
    expect(samples(text, 'leader_election_master_status')).toEqual([
      'leader_election_master_status{name="86f835c3.example.com"} 0',
    ]);
    le.setLeader(true);
    const inf = m.informer('memcacheds.cache.example.com');
    inf.listed();
    inf.watchRestarted('timeout');
    inf.event('BOOKMARK');
    inf.objects(3);
    text = await m.registry.metrics();
    expect(samples(text, 'leader_election_master_status')).toEqual([
      'leader_election_master_status{name="86f835c3.example.com"} 1',
    ]);
    expect(text).toContain('informer_lists_total{resource="memcacheds.cache.example.com"} 1');
    expect(text).toContain('informer_watch_restarts_total{resource="memcacheds.cache.example.com",reason="timeout"} 1');
    expect(text).toContain('informer_watch_events_total{resource="memcacheds.cache.example.com",type="BOOKMARK"} 1');
    expect(text).toContain('informer_cached_objects{resource="memcacheds.cache.example.com"} 3');
  });
});
