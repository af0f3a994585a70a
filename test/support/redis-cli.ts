// redis-cli helpers run inside fake pods (like `kubectl exec … -- redis-cli`).
import type { FakePod } from './pod-runner';
import { waitFor } from './wait';

export interface CliOptions {
  container?: string;
  host?: string;
  port?: number;
  /** Name of an env var of the container holding the password (sent as REDISCLI_AUTH). */
  authEnv?: string;
  timeoutMs?: number;
}

/** Runs redis-cli in a pod's container; resolves with its trimmed stdout (throws on exit ≠ 0). */
export async function cli(pod: FakePod, args: string[], o: CliOptions = {}): Promise<string> {
  const base = ['redis-cli', '-h', o.host ?? '127.0.0.1', '-p', String(o.port ?? 6379)];
  const argv = o.authEnv
    ? ['sh', '-c', `REDISCLI_AUTH="$${o.authEnv}" exec "$@"`, 'sh', ...base, ...args]
    : [...base, ...args];
  const r = await pod.exec(o.container ?? 'redis', argv, o.timeoutMs ?? 5000);
  if (r.code !== 0)
    throw new Error(`redis-cli ${args.join(' ')} in ${pod.opts.name}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout.replace(/\r/g, '').trim();
}

/**
 * Sends several commands over ONE connection (stdin of redis-cli) and returns one reply per
 * line. Needed for WAIT, which counts acknowledgements of the writes of its own connection.
 * Arguments must not contain white space.
 */
export async function pipeline(pod: FakePod, commands: string[][], o: CliOptions = {}): Promise<string[]> {
  const auth = o.authEnv ? `REDISCLI_AUTH="$${o.authEnv}" ` : '';
  const script = `printf '%s\\n' "$@" | ${auth}redis-cli -h ${o.host ?? '127.0.0.1'} -p ${o.port ?? 6379}`;
  const argv = ['sh', '-c', script, 'sh', ...commands.map((c) => c.join(' '))];
  const r = await pod.exec(o.container ?? 'redis', argv, o.timeoutMs ?? 10_000);
  if (r.code !== 0) throw new Error(`redis-cli pipeline in ${pod.opts.name}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout.replace(/\r/g, '').trim().split('\n');
}

/** SET key value, then WAIT for `replicas` acknowledgements on the same connection; returns the WAIT count. */
export async function setAndWait(
  pod: FakePod,
  key: string,
  value: string,
  replicas: number,
  timeoutMs: number,
  o: CliOptions = {},
): Promise<number> {
  const [set, acked] = await pipeline(
    pod,
    [
      ['SET', key, value],
      ['WAIT', String(replicas), String(timeoutMs)],
    ],
    { ...o, timeoutMs: timeoutMs + 5000 },
  );
  if (set !== 'OK') throw new Error(`SET ${key} on ${pod.opts.name}: ${set}`);
  return Number(acked);
}

/** INFO <section> parsed into a map. */
export async function info(pod: FakePod, section: string, o: CliOptions = {}): Promise<Record<string, string>> {
  const out = await cli(pod, ['info', section], o);
  const m: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m[line.slice(0, i)] = line.slice(i + 1);
  }
  return m;
}

/** Waits until the pod's Redis is a replica with its master link up; returns its INFO. */
export function waitLinkUp(pod: FakePod, timeoutMs: number, o: CliOptions = {}) {
  return waitFor(
    `${pod.opts.name}: master_link_status:up`,
    async () => {
      const i = await info(pod, 'replication', o);
      return i.role === 'slave' && i.master_link_status === 'up' ? i : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}
