// kube-apiserver audit logging for the benchmark: a policy that records every request at the
// Metadata level (who, verb, resource, name, code, µs timestamps) once, and a reader that turns
// the JSON-lines log into compact records for attribution by user and phase.
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface AuditRecord {
  /** When the apiserver received the request (ms since the epoch, µs precision). */
  received: number;
  /** When the counted stage happened (ResponseComplete; ResponseStarted for watches). */
  at: number;
  user: string;
  /** the user, with the controller's name for kube-controller-manager (its user agent ends in it) */
  client: string;
  verb: string;
  /** resource[/subresource], or the non-resource path */
  resource: string;
  namespace?: string;
  name?: string;
  code: number;
}

/**
 * Writes the policy and returns the kube-apiserver flags for it. Node heartbeats of kwok's
 * fake nodes (Leases) and health/metrics probes are left out: they are neither the
 * operator's nor on the path of a Memcached.
 */
export function auditArgs(dir: string): { args: string[]; logPath: string } {
  const policy = join(dir, 'audit-policy.yaml');
  const logPath = join(dir, 'audit.log');
  writeFileSync(
    policy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: ["RequestReceived"]',
      'rules:',
      '  - level: None',
      '    users: ["kwok"]',
      '    resources: [{ group: "coordination.k8s.io", resources: ["leases"] }]',
      '  - level: None',
      '    nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/metrics"]',
      '  - level: Metadata',
      '',
    ].join('\n'),
  );
  return {
    logPath,
    // blocking (the default) writes each event before the response ends, so a phase's
    // requests are in the file when the phase ends; no rotation while a run lasts.
    args: [
      `--audit-policy-file=${policy}`,
      `--audit-log-path=${logPath}`,
      '--audit-log-format=json',
      '--audit-log-maxsize=0',
      '--audit-log-mode=blocking',
    ],
  };
}

/** "2026-01-02T03:04:05.123456Z" → ms since the epoch with the microseconds kept. */
export function parseMicroTime(ts: string): number {
  const m = /^(.{19})(?:\.(\d+))?Z$/.exec(ts);
  if (!m) return Date.parse(ts);
  return Date.parse(`${m[1]}Z`) + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

/** Reads the audit log: one record per request (watches counted when their response starts). */
export async function readAudit(path: string): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    let e: any;
    try {
      e = JSON.parse(line);
    } catch {
      continue; // a line cut at the end of the file
    }
    const watch = e.verb === 'watch';
    if (!(e.stage === 'Panic' || (watch ? e.stage === 'ResponseStarted' : e.stage === 'ResponseComplete'))) continue;
    const ref = e.objectRef;
    const user = e.user?.username ?? '';
    const agent = /\/([a-z-]+-controller|generic-garbage-collector)$/.exec(e.userAgent ?? '')?.[1];
    out.push({
      received: parseMicroTime(e.requestReceivedTimestamp),
      at: parseMicroTime(e.stageTimestamp),
      user,
      client: agent && user === 'system:kube-controller-manager' ? `kube-controller-manager/${agent}` : user,
      verb: e.verb,
      resource: ref
        ? ref.subresource
          ? `${ref.resource}/${ref.subresource}`
          : ref.resource
        : (e.requestURI ?? '').split('?')[0],
      namespace: ref?.namespace,
      name: ref?.name,
      code: e.responseStatus?.code ?? 0,
    });
  }
  return out;
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface RequestSummary {
  total: number;
  writes: number;
  byVerb: Record<string, number>;
  /** "verb resource" → count */
  byVerbResource: Record<string, number>;
  /** responses with code ≥ 400, "verb resource code" → count */
  errors: Record<string, number>;
  /** mean time inside kube-apiserver (received → response complete) per "verb resource", ms; watches left out */
  meanServerMs: Record<string, number>;
}

export function summarize(records: readonly AuditRecord[]): RequestSummary {
  const s: RequestSummary = { total: 0, writes: 0, byVerb: {}, byVerbResource: {}, errors: {}, meanServerMs: {} };
  const serverMs: Record<string, number> = {};
  for (const r of records) {
    s.total++;
    if (WRITE_VERBS.has(r.verb)) s.writes++;
    s.byVerb[r.verb] = (s.byVerb[r.verb] ?? 0) + 1;
    const k = `${r.verb} ${r.resource}`;
    s.byVerbResource[k] = (s.byVerbResource[k] ?? 0) + 1;
    if (r.code >= 400) s.errors[`${k} ${r.code}`] = (s.errors[`${k} ${r.code}`] ?? 0) + 1;
    if (r.verb !== 'watch') serverMs[k] = (serverMs[k] ?? 0) + (r.at - r.received);
  }
  for (const [k, total] of Object.entries(serverMs))
    s.meanServerMs[k] = Number((total / s.byVerbResource[k]).toFixed(2));
  s.byVerb = sortedByCount(s.byVerb);
  s.byVerbResource = sortedByCount(s.byVerbResource);
  return s;
}

function sortedByCount(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** Records whose counted stage falls in [from, to) (ms since the epoch). */
export function inWindow(records: readonly AuditRecord[], from: number, to: number): AuditRecord[] {
  return records.filter((r) => r.at >= from && r.at < to);
}

/** Requests per client in [from, to): total, mean per second, and the busiest second. */
export function clientRates(
  records: readonly AuditRecord[],
  from: number,
  to: number,
  exclude: string,
): Record<string, { requests: number; perSecond: number; peakPerSecond: number }> {
  const seconds = Math.max(1, (to - from) / 1000);
  const by = new Map<string, Map<number, number>>();
  for (const r of records) {
    if (r.at < from || r.at >= to || r.user === exclude) continue;
    let buckets = by.get(r.client);
    if (!buckets) by.set(r.client, (buckets = new Map()));
    const b = Math.floor((r.at - from) / 1000);
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  const rows = [...by].map(([client, buckets]) => {
    const requests = [...buckets.values()].reduce((a, b) => a + b, 0);
    return [
      client,
      { requests, perSecond: Number((requests / seconds).toFixed(1)), peakPerSecond: Math.max(...buckets.values()) },
    ] as const;
  });
  return Object.fromEntries(rows.sort((a, b) => b[1].requests - a[1].requests));
}
