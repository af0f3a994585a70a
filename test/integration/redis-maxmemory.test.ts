// Real processes: every Redis stack's memory settings exactly as synthesized in dist/ (the
// Pod's and Deployment's command-line arguments, the StatefulSet's and HA's redis.conf), run as
// a redis-server inside a cgroup (v1 memory controller) limited to the container's
// `resources.limits.memory`, as the kubelet would. Twice the limit is written into it: a cache
// must evict and keep serving, a store must refuse writes and keep every key it accepted, and
// neither may be OOM-killed (including through the forks of RDB saves and AOF rewrites the
// writes trigger).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDist } from '../support/dist';
import { find } from '../support/redis-manifests';
import { realProcessPrereqs, run } from '../support/sys';
import { waitFor } from '../support/wait';

const pre = realProcessPrereqs();
const CGROUP_ROOT = '/sys/fs/cgroup/memory';
const cgroupOk = existsSync(join(CGROUP_ROOT, 'memory.limit_in_bytes'));
if (process.env.CI === 'true' && !cgroupOk)
  throw new Error('redis maxmemory test needs the cgroup v1 memory controller at /sys/fs/cgroup/memory');
const d = pre.ok && cgroupOk ? describe : describe.skip;
if (!pre.ok || !cgroupOk)
  console.warn(`redis maxmemory real-process tests skipped: ${pre.reason || 'no cgroup v1 memory controller'}`);

type Json = any;

const VALUE_BYTES = 64 * 1024;

function mi(q: string): number {
  return parseFloat(q) * (q.endsWith('Gi') ? 1024 : 1);
}

interface Stack {
  file: string;
  policy: string;
  /** redis-server argv (after the binary) for a scratch port and directory. */
  argv(port: number, dir: string): string[];
  limitMi: number;
}

function redisContainer(spec: Json): Json {
  return spec.containers.find((c: Json) => c.name === 'redis');
}

/** Pod and Deployment: the container's own arguments, with port and directory moved. */
function fromArgs(file: string, kind: string): Stack {
  const objs = loadDist(file);
  const o = find(objs, kind);
  const c = redisContainer(kind === 'Pod' ? o.spec : o.spec.template.spec);
  const args: string[] = c.args;
  return {
    file,
    policy: args[args.indexOf('--maxmemory-policy') + 1],
    limitMi: mi(c.resources.limits.memory),
    argv: (port, dir) =>
      args.map((a, i) => (args[i - 1] === '--dir' ? dir : args[i - 1] === '--port' ? String(port) : a)),
  };
}

/** StatefulSet and HA: the ConfigMap's redis.conf (its `dir /data` replaced by a scratch one). */
function fromConf(file: string, configMap: string, extra: string[]): Stack {
  const objs = loadDist(file);
  const sts = find(objs, 'StatefulSet');
  const conf: string = find(objs, 'ConfigMap', configMap).data['redis.conf'];
  const policy = /^maxmemory-policy (\S+)$/m.exec(conf)?.[1] ?? '(none)';
  return {
    file,
    policy,
    limitMi: mi(redisContainer(sts.spec.template.spec).resources.limits.memory),
    argv: (port, dir) => {
      const path = join(dir, 'redis.conf');
      writeFileSync(path, [conf.replace(/^dir .*$/m, `dir ${dir}`), `port ${port}`, ...extra, ''].join('\n'));
      return [path];
    },
  };
}

/** Writes `count` SETs of VALUE_BYTES each through `redis-cli --pipe`; returns its error/reply counts. */
function fill(port: number, count: number): Promise<{ errors: number; replies: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    child.on('error', reject);
    child.on('close', () => {
      const m = /errors: (\d+), replies: (\d+)/.exec(output);
      if (!m) reject(new Error(`redis-cli --pipe: ${output.slice(-2000)}`));
      else resolve({ errors: Number(m[1]), replies: Number(m[2]), output });
    });
    const value = 'x'.repeat(VALUE_BYTES);
    let i = 0;
    const write = () => {
      while (i < count) {
        const key = `key:${i}`;
        const cmd = `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${VALUE_BYTES}\r\n${value}\r\n`;
        i++;
        if (!child.stdin.write(cmd)) {
          child.stdin.once('drain', write);
          return;
        }
      }
      child.stdin.end();
    };
    write();
  });
}

async function cli(port: number, args: string[]): Promise<string> {
  const r = await run('redis-cli', ['-p', String(port), ...args]);
  return r.stdout.replace(/\r/g, '').trim();
}

async function info(port: number, section: string): Promise<Record<string, string>> {
  const m: Record<string, string> = {};
  for (const line of (await cli(port, ['info', section])).split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m[line.slice(0, i)] = line.slice(i + 1);
  }
  return m;
}

d('maxmemory: Redis under its container memory limit evicts or refuses instead of being OOM-killed', () => {
  const cases: [string, () => Stack, string][] = [
    ['Pod redis', () => fromArgs('redis-pod', 'Pod'), 'allkeys-lru'],
    ['Deployment redis-deployment', () => fromArgs('redis-deployment', 'Deployment'), 'allkeys-lru'],
    ['StatefulSet redis-sfs', () => fromConf('redis-statefulset', 'redis-sfs', []), 'noeviction'],
    // Alone here, so it must not wait for replicas before accepting writes.
    ['redis-ha', () => fromConf('redis-ha', 'redis-ha', ['min-replicas-to-write 0']), 'noeviction'],
  ];
  let port = 16_400;

  test.each(cases)(
    '%s',
    async (_name, load, expectedPolicy) => {
      const stack = load();
      expect(stack.policy).toBe(expectedPolicy);
      const dir = mkdtempSync(join(tmpdir(), 'redis-maxmemory-'));
      const cg = join(CGROUP_ROOT, `redis-maxmemory-${process.pid}-${port}`);
      mkdirSync(cg);
      const limitBytes = stack.limitMi * 1024 * 1024;
      writeFileSync(join(cg, 'memory.limit_in_bytes'), String(limitBytes));
      const p = port++;
      let child: ChildProcess | undefined;
      let log = '';
      try {
        // The shell joins the cgroup, then becomes redis-server: every fork of it is limited too.
        child = spawn(
          'sh',
          ['-c', `echo $$ > ${cg}/cgroup.procs && exec redis-server "$@"`, 'sh', ...stack.argv(p, dir)],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout?.on('data', (b) => (log += b));
        child.stderr?.on('data', (b) => (log += b));
        const exited = new Promise<string>((resolve) =>
          child!.on('exit', (code, sig) => resolve(`exited ${code ?? sig}`)),
        );
        await waitFor('redis-server answers', async () => (await cli(p, ['ping'])) === 'PONG', { timeoutMs: 10_000 });
        const maxmemory = Number((await cli(p, ['config', 'get', 'maxmemory'])).split('\n')[1]);
        expect(maxmemory).toBeGreaterThan(0);
        expect(maxmemory).toBeLessThan(limitBytes);

        // Twice the container limit, in 64 KiB values.
        const count = Math.ceil((2 * limitBytes) / VALUE_BYTES);
        const r = await fill(p, count);
        expect(child.exitCode).toBeNull();
        expect(await cli(p, ['ping'])).toBe('PONG');
        // Let a save or rewrite the writes started finish (its fork is in the cgroup too).
        await waitFor(
          'no fork running',
          async () => {
            const pers = await info(p, 'persistence');
            return pers.rdb_bgsave_in_progress === '0' && pers.aof_rewrite_in_progress === '0';
          },
          { timeoutMs: 60_000 },
        );
        const mem = await info(p, 'memory');
        const stats = await info(p, 'stats');
        const keys = Number(await cli(p, ['dbsize']));
        if (expectedPolicy === 'allkeys-lru') {
          // Every write accepted, old keys evicted to make room.
          expect(r.errors).toBe(0);
          expect(Number(stats.evicted_keys)).toBeGreaterThan(0);
          expect(keys).toBeLessThan(count);
          expect(await cli(p, ['set', 'after-full', 'v'])).toBe('OK');
        } else {
          // Writes refused with an error the client sees; nothing accepted was dropped.
          expect(r.errors).toBeGreaterThan(0);
          expect(r.output).toMatch(/OOM command not allowed/);
          expect(Number(stats.evicted_keys)).toBe(0);
          expect(keys).toBe(count - r.errors);
          expect(await cli(p, ['set', 'after-full', 'v'])).toMatch(/^OOM/);
          // Reads and deletes still work, and free room for writes again.
          expect(await cli(p, ['strlen', 'key:0'])).toBe(String(VALUE_BYTES));
          await cli(p, ['del', 'key:0', 'key:1']);
          expect(await cli(p, ['set', 'after-delete', 'v'])).toBe('OK');
        }
        // Data held within maxmemory (plus one value of slack), the process well under the limit.
        expect(Number(mem.used_memory)).toBeLessThanOrEqual(maxmemory + 2 * VALUE_BYTES);
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        expect(hwm).not.toBeNull();
        expect(Number(hwm![1]) * 1024).toBeLessThan(limitBytes);
        const oom = readFileSync(join(cg, 'memory.oom_control'), 'utf8');
        expect(oom).toMatch(/under_oom 0/);
        expect(oom).not.toMatch(/oom_kill [1-9]/);
        console.log(
          `${stack.file}: maxmemory ${maxmemory} B, limit ${limitBytes} B, peak RSS ${Number(hwm![1]) * 1024} B, keys ${keys}/${count}, errors ${r.errors}, evicted ${stats.evicted_keys}`,
        );
        expect(child.exitCode).toBeNull();
        child.kill('SIGKILL');
        await exited;
      } catch (e) {
        console.log(`redis-server log (${stack.file}):\n${log.slice(-3000)}`);
        throw e;
      } finally {
        if (child && child.exitCode === null) child.kill('SIGKILL');
        await waitFor('cgroup empty', async () => readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim() === '', {
          timeoutMs: 10_000,
        }).catch(() => undefined);
        try {
          rmdirSync(cg);
        } catch {
          /* still busy: left for the next boot */
        }
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
