// What the node tier changes on this machine, and how it is put back: sysctls, iptables
// rules and chains, mounts, cgroups, the bridge, CNI state and containerd's runtime dir.
// Everything here is synchronous so that it also runs from an exit hook. The pure parts
// (iptables-save parsing and the cleanup script) are unit-tested.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BRIDGE, CNI_BIN_DIR, CNI_NETWORK, POD_CIDR, RUNC } from './node-config';

/**
 * Sysctls that kubelet (protectKernelDefaults: false), the bridge CNI plugin (ip_forward) and
 * kube-proxy may change; their values are saved at start and written back at stop.
 */
export const SYSCTLS: readonly string[] = [
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/default/forwarding',
  'net/ipv4/conf/all/route_localnet',
  'net/ipv6/conf/all/forwarding',
  'net/ipv6/conf/default/forwarding',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
  'net/netfilter/nf_conntrack_tcp_be_liberal',
  'net/netfilter/nf_conntrack_udp_timeout',
  'net/netfilter/nf_conntrack_udp_timeout_stream',
];

export class NodeHostError extends Error {}

function run(cmd: string, args: string[], input?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: r.error ? r.error.message : (r.stderr ?? '') };
}

function which(cmd: string): boolean {
  return run('sh', ['-c', `command -v ${cmd}`]).ok;
}

/**
 * Whether this machine can run the node tier; throws NodeHostError listing everything that is
 * missing (not root, packages, kernel modules, cgroups) with the fix.
 */
export function checkHost(): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not root: the node tier runs kubelet, containerd and iptables as root');
  const packages: [string, string][] = [
    ['containerd', 'containerd'],
    ['ctr', 'containerd'],
    ['iptables', 'iptables'],
    ['iptables-save', 'iptables'],
    ['iptables-restore', 'iptables'],
    ['ip', 'iproute2'],
    ['mount', 'mount'],
  ];
  const missing = new Set<string>();
  for (const [cmd, pkg] of packages) if (!which(cmd)) missing.add(pkg);
  if (!existsSync(RUNC)) missing.add('runc');
  for (const plugin of ['bridge', 'host-local', 'portmap', 'loopback'])
    if (!existsSync(join(CNI_BIN_DIR, plugin))) missing.add('containernetworking-plugins');
  if (missing.size)
    problems.push(`Debian packages missing: ${[...missing].join(' ')} (scripts/node-build.sh installs them)`);
  const filesystems = safeRead('/proc/filesystems');
  if (!/\boverlay\b/.test(filesystems)) problems.push('kernel module overlay not loaded (modprobe overlay)');
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables'))
    problems.push('kernel module br_netfilter not loaded (modprobe br_netfilter): Services need it for pod traffic');
  if (!existsSync('/proc/sys/net/netfilter/nf_conntrack_max'))
    problems.push('kernel module nf_conntrack not loaded (modprobe nf_conntrack)');
  if (!existsSync('/sys/fs/cgroup/memory') && !existsSync('/sys/fs/cgroup/cgroup.controllers'))
    problems.push('no memory cgroup controller mounted under /sys/fs/cgroup');
  if (problems.length)
    throw new NodeHostError(`the node tier cannot run on this machine:\n  - ${problems.join('\n  - ')}`);
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function readSysctls(keys: readonly string[] = SYSCTLS): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of keys) {
    const path = `/proc/sys/${key}`;
    if (existsSync(path)) values[key] = safeRead(path).trim();
  }
  return values;
}

/** The IP forwarding switches: the bridge plugin turns them on; other container tools need them too. */
export const FORWARDING_SYSCTLS = new Set([
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/default/forwarding',
  'net/ipv6/conf/all/forwarding',
  'net/ipv6/conf/default/forwarding',
]);

/**
 * Bridges other than the tier's (podman's `podman0`, say): while one exists, another tool on
 * this machine may route its containers' traffic, and turning forwarding off would cut it.
 */
export function otherBridges(): string[] {
  try {
    return readdirSync('/sys/class/net').filter((n) => n !== BRIDGE && existsSync(`/sys/class/net/${n}/bridge`));
  } catch {
    return [];
  }
}

/**
 * Writes back every saved value that differs now; returns the keys it wrote. The forwarding
 * switches are left on while another tool's bridge exists (see otherBridges()).
 */
export function restoreSysctls(saved: Record<string, string>): string[] {
  const now = readSysctls(Object.keys(saved));
  const keepForwarding = otherBridges().length > 0;
  const written: string[] = [];
  // ip_forward resets the per-interface forwarding switches: write it first.
  const keys = Object.keys(saved).sort(
    (a, b) => Number(b === 'net/ipv4/ip_forward') - Number(a === 'net/ipv4/ip_forward'),
  );
  for (const key of keys) {
    if (now[key] === undefined || now[key] === saved[key]) continue;
    if (keepForwarding && FORWARDING_SYSCTLS.has(key)) continue;
    try {
      writeFileSync(`/proc/sys/${key}`, saved[key]);
      written.push(key);
    } catch {
      // a key that cannot be written back is reported by the caller's check
    }
  }
  return written;
}

// ---------------------------------------------------------------------------------------
// iptables

/** One table of `iptables-save` output: chain names and rules (as `-A CHAIN …` lines). */
export interface IptablesTable {
  chains: string[];
  rules: string[];
}

/** Parses `iptables-save` output into tables. */
export function parseIptablesSave(text: string): Record<string, IptablesTable> {
  const tables: Record<string, IptablesTable> = {};
  let current: IptablesTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = { chains: [], rules: [] };
      tables[line.slice(1).trim()] = current;
    } else if (!current || line.startsWith('#') || line === 'COMMIT') {
      continue;
    } else if (line.startsWith(':')) {
      current.chains.push(line.slice(1).split(' ')[0]);
    } else if (line.startsWith('-A ')) {
      current.rules.push(line.trimEnd());
    }
  }
  return tables;
}

const BUILTIN = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);

/**
 * An `iptables-restore --noflush` script that removes what the tier added between `before`
 * and `after`: chains named KUBE-* or CNI-* that did not exist before (flushed, then deleted),
 * and new rules in other chains that jump to them or name KUBE- or the pod network. Rules and
 * chains that were there before are never touched. Empty string: nothing to do.
 */
export function iptablesCleanupScript(
  before: Record<string, IptablesTable>,
  after: Record<string, IptablesTable>,
): string {
  const out: string[] = [];
  for (const [table, now] of Object.entries(after)) {
    const was = before[table] ?? { chains: [], rules: [] };
    const oldChains = new Set(was.chains);
    const oldRules = new Set(was.rules);
    const ours = now.chains.filter((c) => !oldChains.has(c) && !BUILTIN.has(c) && /^(KUBE-|CNI-)/.test(c));
    const ourSet = new Set(ours);
    const deletes = now.rules.filter((rule) => {
      const chain = rule.split(' ')[1];
      if (ourSet.has(chain) || oldRules.has(rule)) return false;
      const target = /\s-[jg]\s+(\S+)/.exec(rule)?.[1];
      return (target !== undefined && ourSet.has(target)) || /KUBE-/.test(rule) || rule.includes(POD_CIDR);
    });
    if (!ours.length && !deletes.length) continue;
    out.push(`*${table}`);
    for (const rule of deletes) out.push(`-D ${rule.slice(3)}`);
    for (const chain of ours) out.push(`-F ${chain}`);
    for (const chain of ours) out.push(`-X ${chain}`);
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : '';
}

const IPTABLES = [
  { save: 'iptables-save', restore: 'iptables-restore', family: 'ip' },
  { save: 'ip6tables-save', restore: 'ip6tables-restore', family: 'ip6' },
];

/**
 * Tables that exist now but did not before and hold only built-in chains and no rule: the
 * iptables-nft backend creates a table on first use and leaves it behind empty.
 */
export function newEmptyTables(before: Record<string, IptablesTable>, after: Record<string, IptablesTable>): string[] {
  return Object.entries(after)
    .filter(([name, t]) => !before[name] && t.rules.length === 0 && t.chains.every((c) => BUILTIN.has(c)))
    .map(([name]) => name);
}

export type IptablesSnapshot = Record<string, Record<string, IptablesTable>>;

export function iptablesSnapshot(): IptablesSnapshot {
  const snap: IptablesSnapshot = {};
  for (const { save } of IPTABLES) {
    const r = run(save, []);
    if (r.ok) snap[save] = parseIptablesSave(r.out);
  }
  return snap;
}

/** Removes the tier's chains and rules (compared with `before`); returns problems, if any. */
export function restoreIptables(before: IptablesSnapshot): string[] {
  const problems: string[] = [];
  for (const { save, restore, family } of IPTABLES) {
    if (!before[save]) continue;
    const now = run(save, []);
    if (!now.ok) continue;
    const script = iptablesCleanupScript(before[save], parseIptablesSave(now.out));
    if (script) {
      const r = run(restore, ['--noflush'], script);
      if (!r.ok) problems.push(`${restore} failed: ${r.err.trim()}\n${script}`);
    }
    // nft-backed iptables only (the legacy backend's tables always exist)
    if (!/nf_tables/.test(run(save.replace('-save', ''), ['--version']).out) || !which('nft')) continue;
    const after = run(save, []);
    for (const table of newEmptyTables(before[save], parseIptablesSave(after.out))) {
      const r = run('nft', ['delete', 'table', family, table]);
      if (!r.ok) problems.push(`nft delete table ${family} ${table} failed: ${r.err.trim()}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// mounts, processes, cgroups, links

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string, mountinfo = safeRead('/proc/self/mountinfo')): string[] {
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything under each of `dirs` (lazily if busy); returns what is still mounted. */
export function unmountUnder(dirs: readonly string[]): string[] {
  for (let pass = 0; pass < 3; pass++) {
    const points = dirs.flatMap((d) => mountsUnder(d));
    if (!points.length) return [];
    for (const p of points) if (!run('umount', [p]).ok) run('umount', ['-l', p]);
  }
  return dirs.flatMap((d) => mountsUnder(d));
}

/** Pids whose command line has an argument mentioning `root` + '/' (the tier's processes and shims). */
export function pidsMentioning(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const args = safeRead(`/proc/${entry}/cmdline`).split('\0');
    if (args.some((a) => a.includes(root + '/'))) pids.push(Number(entry));
  }
  return pids;
}

/** The cgroup v1/v2 hierarchies mounted under /sys/fs/cgroup. */
export function cgroupHierarchies(): string[] {
  return mountsUnder('/sys/fs/cgroup')
    .filter((p) => p !== '/sys/fs/cgroup')
    .filter((p) => {
      try {
        return statSync(join(p, 'cgroup.procs')).isFile();
      } catch {
        return false;
      }
    });
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

function walkCgroups(dir: string, out: string[]): void {
  for (const e of subdirs(dir)) walkCgroups(join(dir, e), out);
  out.push(dir);
}

/** Every cgroup directory at or under `name` in each hierarchy, deepest first. */
export function cgroupDirs(name: string): string[] {
  const out: string[] = [];
  for (const h of cgroupHierarchies()) if (existsSync(join(h, name))) walkCgroups(join(h, name), out);
  return out;
}

/** SIGKILLs every process in the cgroups at or under `name` (pods' containers). */
export function killCgroupProcesses(name: string): number {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(name)) {
    for (const pid of safeRead(join(dir, 'cgroup.procs')).split('\n').filter(Boolean)) pids.add(Number(pid));
  }
  for (const pid of pids) killQuietly(pid);
  return pids.size;
}

export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Removes the cgroup directories at or under `name` (deepest first); returns those left. */
export function removeCgroups(name: string): string[] {
  for (let pass = 0; pass < 20; pass++) {
    const dirs = cgroupDirs(name);
    if (!dirs.length) return [];
    for (const d of dirs) {
      try {
        rmdirSync(d);
      } catch {
        // busy: processes still exiting
      }
    }
    if (cgroupDirs(name).length) spawnSync('sleep', ['0.1']);
  }
  return cgroupDirs(name);
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** The pod network's bridge with the node's address, up (the apiserver binds to it). */
export function createBridge(address: string, prefix: number): void {
  if (linkExists(BRIDGE)) run('ip', ['link', 'del', BRIDGE]);
  for (const args of [
    ['link', 'add', BRIDGE, 'type', 'bridge'],
    ['addr', 'add', `${address}/${prefix}`, 'dev', BRIDGE],
    ['link', 'set', BRIDGE, 'up'],
  ]) {
    const r = run('ip', args);
    if (!r.ok) throw new NodeHostError(`ip ${args.join(' ')} failed: ${r.err.trim()}`);
  }
}

/** Deletes the bridge and any veth left attached to it. */
export function deleteBridge(): void {
  if (!linkExists(BRIDGE)) return;
  let ports: string[] = [];
  try {
    ports = readdirSync(`/sys/class/net/${BRIDGE}/brif`);
  } catch {
    // no ports
  }
  for (const p of ports) run('ip', ['link', 'del', p]);
  run('ip', ['link', 'del', BRIDGE]);
}

/** Where libcni caches results (containerd's CNI uses the default). */
export const CNI_CACHE = '/var/lib/cni';

/** The files in libcni's result cache now. */
export function cniCacheFiles(): string[] {
  const dir = join(CNI_CACHE, 'results');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/**
 * Removes libcni's cached results that the tier made: its network's and containerd's
 * loopback network's (`cni-loopback-<sandbox>-lo`) that were not there before; then the
 * cache directory itself if it did not exist before and is empty.
 */
export function removeCniCache(before: readonly string[], existed: boolean): void {
  const old = new Set(before);
  for (const e of cniCacheFiles())
    if (!old.has(e) && (e.startsWith(`${CNI_NETWORK}-`) || e.startsWith('cni-loopback-')))
      rmSync(join(CNI_CACHE, 'results', e), { force: true });
  if (!existed && cniCacheFiles().length === 0) rmSync(CNI_CACHE, { recursive: true, force: true });
}

/** Removes `path` if it did not exist before (recorded as `existed`), and also empty parents made for it. */
export function removeIfNew(path: string, existed: boolean): void {
  if (!existed) rmSync(path, { recursive: true, force: true });
}
