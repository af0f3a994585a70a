// Figures taken from the processes of a run: the operator's /metrics, kube-apiserver's
// apiserver_request_total, and the pids of the control plane's components.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { labelsOf, latencyStats, parsePrometheus, round } from '../lib/stats';
import type { OperatorMetricsDelta } from './types';

/** The operator's /metrics, the series the benchmark reports. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolveText, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 10_000 }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => resolveText(body));
    });
    req.on('timeout', () => req.destroy(new Error('metrics scrape timed out')));
    req.on('error', reject);
  });
  return parsePrometheus(text, [
    'controller_runtime_reconcile_total',
    'controller_runtime_reconcile_time_seconds_sum',
    'controller_runtime_reconcile_time_seconds_count',
    'workqueue_queue_duration_seconds_sum',
    'workqueue_queue_duration_seconds_count',
    'workqueue_adds_total',
    'informer_watch_restarts_total',
    'informer_watch_events_total',
    'nodejs_heap_size_used_bytes',
    'process_resident_memory_bytes',
  ]);
}

export function metricsDelta(
  a: Map<string, number> | undefined,
  b: Map<string, number> | undefined,
): OperatorMetricsDelta {
  if (!a || !b) return { reconciles: {} };
  const sum = (m: Map<string, number>, name: string) =>
    [...m].filter(([k]) => k.startsWith(name)).reduce((s, [, v]) => s + v, 0);
  const d = (name: string) => sum(b, name) - sum(a, name);
  /** Non-zero increases of one counter's series, keyed by the given labels joined with spaces. */
  const byLabels = (metric: string, labels: string[]) => {
    const out: Record<string, number> = {};
    for (const [k, v] of b) {
      if (!k.startsWith(metric)) continue;
      const diff = v - (a.get(k) ?? 0);
      const l = labelsOf(k);
      if (diff) out[labels.map((n) => l[n]).join(' ')] = diff;
    }
    return out;
  };
  const reconciles = byLabels('controller_runtime_reconcile_total', ['result']);
  const watchEvents = byLabels('informer_watch_events_total', ['resource', 'type']);
  const watchRestartsByReason = byLabels('informer_watch_restarts_total', ['resource', 'reason']);
  const rc = d('controller_runtime_reconcile_time_seconds_count');
  const qc = d('workqueue_queue_duration_seconds_count');
  return {
    reconciles,
    meanReconcileMs: rc ? round((d('controller_runtime_reconcile_time_seconds_sum') / rc) * 1000, 2) : undefined,
    meanQueueWaitMs: qc ? round((d('workqueue_queue_duration_seconds_sum') / qc) * 1000, 2) : undefined,
    queueAdds: d('workqueue_adds_total'),
    watchRestarts: d('informer_watch_restarts_total'),
    watchRestartsByReason,
    watchEvents,
  };
}

export const API_SERIES = ['apiserver_request_total'];
/** Series only the operator writes (metric verb/resource/subresource ↔ audit verb resource). */
export const EXCLUSIVE: { metric: [string, string, string]; audit: string }[] = [
  { metric: ['POST', 'deployments', ''], audit: 'create deployments' },
  { metric: ['APPLY', 'deployments', ''], audit: 'patch deployments' },
  { metric: ['POST', 'services', ''], audit: 'create services' },
  { metric: ['APPLY', 'services', ''], audit: 'patch services' },
  { metric: ['PATCH', 'memcacheds', 'status'], audit: 'patch memcacheds/status' },
];

export function exclusiveCounts(m: Map<string, number>): number[] {
  const out = EXCLUSIVE.map(() => 0);
  for (const [k, v] of m) {
    const l = labelsOf(k);
    EXCLUSIVE.forEach((e, i) => {
      if (l.verb === e.metric[0] && l.resource === e.metric[1] && (l.subresource ?? '') === e.metric[2]) out[i] += v;
    });
  }
  return out;
}

/** The control plane's processes (from its pids file) and the operator, by name. */
export function componentPids(dir: string, operatorPid: number): Record<string, number> {
  const out: Record<string, number> = { operator: operatorPid };
  let pids: number[];
  try {
    pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split(/\s+/).map(Number).filter(Boolean);
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const name =
        argv.find((a) => /^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)$/.test(a)) ??
        (argv[0].endsWith('kwok') ? 'kwok' : argv[0].split('/').pop()!);
      out[name] = pid;
    } catch {
      // exited
    }
  }
  return out;
}

export function roundStats(s: ReturnType<typeof latencyStats>) {
  return { count: s.count, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max) };
}
