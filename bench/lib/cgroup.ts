// Runs a process under a CPU quota and a memory limit the way a container runtime applies a
// pod's `resources.limits`: a cgroup of its own (v2 where the unified hierarchy has the cpu and
// memory controllers, else v1), joined before the program starts, so Node sees the limit when
// it sizes its heap. Needs write access to /sys/fs/cgroup (root on this machine).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMillis, memoryMi } from '../../constructs/validation';

export interface Limits {
  cpuMillis: number;
  memoryBytes: number;
}

export interface LimitStats {
  /** highest memory charged to the group (RSS plus page cache the process caused) */
  peakMemoryMiB: number;
  oomKills: number;
  /** time the CPU quota held the process back */
  throttledS: number;
  throttledPeriods: number;
}

export interface LimitGroup {
  readonly version: 'v1' | 'v2';
  /** Command prefix: joins the group, then execs the command that follows. */
  readonly prefix: string[];
  stats(): LimitStats;
  /** Removes the group; call after its processes exited. */
  remove(): void;
}

const ROOT = '/sys/fs/cgroup';
const PERIOD_US = 100_000;
const read = (p: string) => readFileSync(p, 'utf8').trim();
const field = (text: string, key: string) =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${key} `))
      ?.split(' ')[1] ?? NaN,
  );

/** A cgroup with these limits, or the reason there cannot be one. */
export function createLimitGroup(name: string, limits: Limits): LimitGroup | { error: string } {
  const quotaUs = Math.max(1000, Math.round((limits.cpuMillis / 1000) * PERIOD_US));
  try {
    if (hasV2Controllers()) return v2(name, limits, quotaUs);
    if (existsSync(join(ROOT, 'memory')) && existsSync(join(ROOT, 'cpu'))) return v1(name, limits, quotaUs);
    return { error: `no cgroup cpu and memory controllers under ${ROOT}` };
  } catch (e) {
    return { error: `cannot create cgroup ${name}: ${(e as Error).message}` };
  }
}

function hasV2Controllers(): boolean {
  const f = join(ROOT, 'cgroup.controllers');
  if (!existsSync(f)) return false;
  const c = read(f).split(' ');
  return c.includes('cpu') && c.includes('memory');
}

function joinPrefix(procsFiles: string[]): string[] {
  return ['sh', '-c', `for f in ${procsFiles.join(' ')}; do echo $$ > "$f" || exit 125; done; exec "$@"`, 'limited'];
}

function v2(name: string, limits: Limits, quotaUs: number): LimitGroup {
  writeFileSync(join(ROOT, 'cgroup.subtree_control'), '+cpu +memory');
  const dir = join(ROOT, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
  if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
  writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${PERIOD_US}`);
  return {
    version: 'v2',
    prefix: joinPrefix([join(dir, 'cgroup.procs')]),
    stats: () => {
      const cpu = read(join(dir, 'cpu.stat'));
      const peak = existsSync(join(dir, 'memory.peak')) ? Number(read(join(dir, 'memory.peak'))) : NaN;
      return {
        peakMemoryMiB: Math.round(peak / 2 ** 20),
        oomKills: field(read(join(dir, 'memory.events')), 'oom_kill'),
        throttledS: Math.round(field(cpu, 'throttled_usec') / 1e4) / 100,
        throttledPeriods: field(cpu, 'nr_throttled'),
      };
    },
    remove: () => rmdirSync(dir),
  };
}

function v1(name: string, limits: Limits, quotaUs: number): LimitGroup {
  const mem = join(ROOT, 'memory', name);
  const cpu = join(ROOT, 'cpu', name);
  mkdirSync(mem, { recursive: true });
  mkdirSync(cpu, { recursive: true });
  writeFileSync(join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
  writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(PERIOD_US));
  writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(quotaUs));
  return {
    version: 'v1',
    prefix: joinPrefix([join(mem, 'cgroup.procs'), join(cpu, 'cgroup.procs')]),
    stats: () => {
      const stat = read(join(cpu, 'cpu.stat'));
      return {
        peakMemoryMiB: Math.round(Number(read(join(mem, 'memory.max_usage_in_bytes'))) / 2 ** 20),
        oomKills: field(read(join(mem, 'memory.oom_control')), 'oom_kill'),
        throttledS: Math.round(field(stat, 'throttled_time') / 1e7) / 100,
        throttledPeriods: field(stat, 'nr_throttled'),
      };
    },
    remove: () => {
      rmdirSync(mem);
      rmdirSync(cpu);
    },
  };
}

/** The Deployment's limits (`500m` / `0.5`, `256Mi` / `1Gi`: the forms the synth validates). */
export function parseLimits(cpu: string, memory: string): Limits {
  const limits = { cpuMillis: cpuMillis(cpu), memoryBytes: memoryMi(memory) * 2 ** 20 };
  if (!(limits.cpuMillis > 0 && limits.memoryBytes > 0))
    throw new Error(`cannot read limits cpu=${cpu} memory=${memory}`);
  return limits;
}
