// Where a resize's time goes, read from a kept audit log (`--keep-audit DIR` of bench:operator
// or bench:compare): for every benchmark object, when each step of the pipeline happened after
// the benchmark changed its size, and how long the API server took to answer each client.
//   node scripts/run-ts.mjs bench/audit-stages.ts AUDIT_LOG [--phase update|create] [--bucket 5]
// Steps, per Deployment (named like its Memcached object):
//   operator write  the operator's write of the Deployment (create, or the resize)
//   rs              the deployment controller's write of the ReplicaSet (create, or its scale)
//   bind            the scheduler's binding of a pod of it (the last one)
//   pod ready       kwok's status patch of a pod of it (the last one)
//   rs status       the replicaset controller's last status write of the ReplicaSet
//   deploy status   the deployment controller's last status write of the Deployment
//   cr status       the operator's last status write of the Memcached object
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { percentile } from './lib/stats';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { phase: { type: 'string', default: 'update' }, bucket: { type: 'string', default: '5' } },
});
if (positionals.length !== 1) throw new Error('usage: audit-stages.ts AUDIT_LOG [--phase update|create] [--bucket 5]');
const bucketS = Number(values.bucket);

interface Entry {
  stage: string;
  verb: string;
  user: { username: string };
  userAgent?: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

const entries: Entry[] = [];
for await (const line of createInterface({ input: createReadStream(positionals[0]) })) {
  if (!line) continue;
  const e = JSON.parse(line) as Entry;
  if (e.stage === 'ResponseComplete') entries.push(e);
}
const at = (s: string) => Date.parse(s) / 1000;
// Who sent it: the controller-manager's controllers by their user agent suffix, others by user.
const client = (e: Entry) => {
  const ua = e.userAgent ?? '';
  const byAgent = /kubernetes\/[^/]+\/([a-z-]+)$/.exec(ua)?.[1];
  if (byAgent) return byAgent;
  const user = e.user.username;
  if (user.startsWith('system:serviceaccount:') && user.includes('memcached')) return 'operator';
  return user.replace(/^system:/, '');
};
const isBenchObject = (e: Entry) => e.objectRef?.namespace?.startsWith('bench') || e.objectRef?.namespace === 'default';

// The phase starts with the benchmark's first write of a Memcached object in it.
const phaseVerb = values.phase === 'create' ? ['create'] : ['patch', 'update'];
const starts = entries
  .filter((e) => e.user.username === 'kubernetes-admin' && e.objectRef?.resource === 'memcacheds')
  .filter((e) => phaseVerb.includes(e.verb) && !e.objectRef?.subresource)
  .map((e) => at(e.stageTimestamp));
if (!starts.length) throw new Error(`no ${values.phase} of Memcached objects by the benchmark in this log`);
const t0 = Math.min(...starts);

// Deployment name from a ReplicaSet (<deploy>-<hash>) or pod (<deploy>-<hash>-<suffix>) name.
const owner = (name: string, dashes: number) => name.split('-').slice(0, -dashes).join('-');
const steps: [string, (e: Entry, who: string, res: string) => string | undefined, 'first' | 'last'][] = [
  [
    'operator write',
    (e, who, res) => (who === 'operator' && res === 'deployments' ? e.objectRef!.name : undefined),
    'first',
  ],
  [
    'rs',
    (e, who, res) =>
      who === 'deployment-controller' && res === 'replicasets' && e.objectRef?.name
        ? owner(e.objectRef.name, 1)
        : undefined,
    'first',
  ],
  [
    'bind',
    (e, who, res) => (who === 'scheduler' && res === 'pods/binding' ? owner(e.objectRef!.name!, 2) : undefined),
    'last',
  ],
  [
    'pod ready',
    (e, who, res) => (who === 'kwok' && res === 'pods/status' ? owner(e.objectRef!.name!, 2) : undefined),
    'last',
  ],
  [
    'rs status',
    (e, who, res) =>
      who === 'replicaset-controller' && res === 'replicasets/status' ? owner(e.objectRef!.name!, 1) : undefined,
    'last',
  ],
  [
    'deploy status',
    (e, who, res) => (who === 'deployment-controller' && res === 'deployments/status' ? e.objectRef!.name : undefined),
    'last',
  ],
  [
    'cr status',
    (e, who, res) => (who === 'operator' && res === 'memcacheds/status' ? e.objectRef!.name : undefined),
    'last',
  ],
];
const times = new Map<string, Map<string, number>>(steps.map(([s]) => [s, new Map()]));
const latency = new Map<number, Map<string, number[]>>();
for (const e of entries) {
  const t = at(e.stageTimestamp) - t0;
  if (t < 0 || ['watch', 'get', 'list'].includes(e.verb)) continue;
  const who = client(e);
  const bucket = Math.floor(t / bucketS);
  const byClient = latency.get(bucket) ?? new Map<string, number[]>();
  latency.set(bucket, byClient);
  const ms = (at(e.stageTimestamp) - at(e.requestReceivedTimestamp)) * 1000;
  const list = byClient.get(who) ?? [];
  list.push(ms);
  byClient.set(who, list);
  if ((e.responseStatus?.code ?? 0) >= 300 || !isBenchObject(e)) continue;
  const res = e.objectRef?.resource + (e.objectRef?.subresource ? `/${e.objectRef.subresource}` : '');
  for (const [step, match, which] of steps) {
    const key = match(e, who, res);
    if (!key) continue;
    const m = times.get(step)!;
    const k = `${e.objectRef?.namespace}/${key}`;
    if (which === 'last' || !m.has(k)) m.set(k, t);
  }
}

console.log(`${values.phase} phase of ${positionals[0]}: seconds after the benchmark's first ${values.phase}`);
console.log('| step | objects | p10 | p50 | p90 | last |\n| --- | --- | --- | --- | --- | --- |');
for (const [step] of steps) {
  const xs = [...times.get(step)!.values()];
  if (!xs.length) continue;
  const f = (p: number) => percentile(xs, p)!.toFixed(1);
  console.log(`| ${step} | ${xs.length} | ${f(10)} | ${f(50)} | ${f(90)} | ${Math.max(...xs).toFixed(1)} |`);
}
const shown = [
  'operator',
  'deployment-controller',
  'replicaset-controller',
  'scheduler',
  'kwok',
  'endpoint-controller',
];
console.log(`\nwrites and mean API server time per ${bucketS} s, by client`);
console.log(`| s | ${shown.join(' | ')} |\n| --- |${shown.map(() => ' --- |').join('')}`);
for (const bucket of [...latency.keys()].sort((a, b) => a - b)) {
  const byClient = latency.get(bucket)!;
  const cell = (who: string) => {
    const xs = byClient.get(who) ?? [];
    return xs.length ? `${xs.length} / ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(0)} ms` : '';
  };
  console.log(`| ${bucket * bucketS} | ${shown.map(cell).join(' | ')} |`);
}
