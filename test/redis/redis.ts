// redis-cli helpers run inside fake pods (like `kubectl exec … -- redis-cli`).
import type { FakePod } from './kubelet';
import { waitFor } from './sys';

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
  const argv = o.authEnv ? ['sh', '-c', `REDISCLI_AUTH="$${o.authEnv}" exec "$@"`, 'sh', ...base, ...args] : [...base, ...args];
  const r = await pod.exec(o.container ?? 'redis', argv, o.timeoutMs ?? 5000);
  if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')} in ${pod.opts.name}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout.replace(/\r/g, '').trim();
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
    timeoutMs,
    250,
  );
}
