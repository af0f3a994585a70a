// The images of cluster/images.ts, built here (or found up to date) and run under podman with
// runc the way the synthesized manifests run them: the manifest's own command, args, env,
// scripts and config files, as the manifest's numeric user, with a read-only root
// filesystem, no capabilities, no privilege escalation, and only the mounts the pod has
// (emptyDirs as tmpfs, ConfigMaps as read-only folders). Nothing leaves the container: each
// runs with no network but its own loopback, and clients talk to it from inside
// (`podman exec`, bash's /dev/tcp).
//   memcached   serves set/get on its port as uid 11211
//   redis       redis-server (the Pod's args; the StatefulSet's redis.conf and start script)
//               answers its probes as uid 999; redis-ha's server and Sentinel start scripts
//               bring up a master and a Sentinel that monitors it
//   haproxy     `haproxy -c` accepts redis-ha's haproxy.cfg as uid 99, and haproxy run as
//               the Deployment runs it answers /healthz (and /ready: 503 with no master)
//   operator    `node build/operator.mjs --version` prints package.json's version as uid 1000
// and every image has its OCI archive for a node's containerd, named by its reference.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages, OCI_RUNTIME, type ImageSet } from '../../cluster/images';
import { loadDist, type Manifest } from '../support/dist';
import { renderMemcachedOperand } from '../../constructs/memcached-operand';

const RUN_ID = randomBytes(3).toString('hex');
// A pod's containers get the open-file limit of the containerd that starts them (CRI sets
// none): on this machine, its hard limit. HAProxy needs 2 × maxconn + some (8225).
const HARD_NOFILE = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
const NOFILE = HARD_NOFILE === 'unlimited' ? '1048576' : HARD_NOFILE;
const POD_ULIMITS = ['--ulimit', `nofile=${NOFILE}:${NOFILE}`, '--ulimit', 'nproc=4096:4096'];
const started: string[] = [];
const tmpDirs: string[] = [];
let images: ImageSet;
let coldSeconds = 0;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function podman(args: string[], timeoutMs = 60_000): Result {
  const r = spawnSync('podman', args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function ok(args: string[], timeoutMs?: number): string {
  const r = podman(args, timeoutMs);
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface RunAs {
  image: string;
  uid: number;
  command: string[];
  env?: Record<string, string>;
  /** emptyDir mounts (host folders writable by the pod's fsGroup = uid). */
  emptyDirs?: string[];
  /** ConfigMap mounts: mount path → files. */
  configMaps?: Record<string, Record<string, string>>;
  hostname?: string;
  /** Names resolving to addresses, `name:address`: the pod's /etc/hosts. */
  addHosts?: string[];
  /** Join the network namespace of this container (a second container of the same pod). */
  podOf?: string;
}

/** podman run arguments for a container as restricted as the manifests' securityContext. */
function runArgs(name: string, c: RunAs): string[] {
  const args = ['run', '--name', name, '--runtime', OCI_RUNTIME, ...POD_ULIMITS];
  // runAsUser/runAsGroup, readOnlyRootFilesystem (and no tmpfs podman would add on /tmp, /run),
  // capabilities drop ALL, allowPrivilegeEscalation false.
  args.push('--user', `${c.uid}:${c.uid}`, '--read-only', '--read-only-tmpfs=false');
  args.push('--cap-drop', 'ALL', '--security-opt', 'no-new-privileges');
  args.push('--network', c.podOf ? `container:${c.podOf}` : 'none');
  if (c.hostname && !c.podOf) args.push('--hostname', c.hostname);
  else if (c.hostname) args.push('--env', `HOSTNAME=${c.hostname}`);
  if (c.addHosts) {
    // The kubelet manages a pod's /etc/hosts and mounts it into each of its containers.
    const dir = mkdtempSync(join(tmpdir(), 'images-hosts-'));
    tmpDirs.push(dir);
    const lines = ['127.0.0.1 localhost', '::1 localhost', ...c.addHosts.map((h) => h.split(':').reverse().join(' '))];
    writeFileSync(join(dir, 'hosts'), lines.join('\n') + '\n', { mode: 0o644 });
    args.push('--volume', `${join(dir, 'hosts')}:/etc/hosts:ro`);
  }
  for (const [k, v] of Object.entries(c.env ?? {})) args.push('--env', `${k}=${v}`);
  // emptyDirs: a fresh folder of the host each, owned by the pod's group (its fsGroup).
  for (const d of c.emptyDirs ?? []) {
    const dir = mkdtempSync(join(tmpdir(), 'images-emptydir-'));
    tmpDirs.push(dir);
    chownSync(dir, 0, c.uid);
    chmodSync(dir, 0o2775);
    args.push('--volume', `${dir}:${d}`);
  }
  for (const [path, files] of Object.entries(c.configMaps ?? {})) {
    const dir = mkdtempSync(join(tmpdir(), 'images-cm-'));
    chmodSync(dir, 0o755); // a ConfigMap volume is readable by the pod's user
    tmpDirs.push(dir);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text, { mode: 0o444 });
    args.push('--volume', `${dir}:${path}:ro`);
  }
  return args;
}

/** Starts a long-running container; returns its name. */
function start(label: string, c: RunAs): string {
  const name = `kts-images-test-${RUN_ID}-${label}`;
  started.push(name);
  ok([...runArgs(name, c), '--detach', c.image, ...c.command]);
  return name;
}

/** Runs a command to completion in a fresh restricted container. */
function runOnce(c: RunAs): Result {
  const name = `kts-images-test-${RUN_ID}-once-${randomBytes(2).toString('hex')}`;
  return podman([...runArgs(name, c), '--rm', c.image, ...c.command]);
}

/** `podman exec` in a running container, as the container's user. */
function exec(name: string, command: string[], env: Record<string, string> = {}): Result {
  const e = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  return podman(['exec', ...e, name, ...command]);
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((d) => setTimeout(d, 250));
  }
}

/** Sends the container SIGTERM (SIGKILL after `graceSeconds`); its exit code and whether it beat the kill. */
function stopWithin(name: string, graceSeconds: number): { exitCode: number; inTime: boolean } {
  const t0 = Date.now();
  ok(['stop', '--time', String(graceSeconds), name], (graceSeconds + 30) * 1000);
  const seconds = (Date.now() - t0) / 1000;
  const exitCode = Number(ok(['inspect', '--format', '{{.State.ExitCode}}', name]).trim());
  return { exitCode, inTime: seconds < graceSeconds };
}

function logsOf(name: string): string {
  const r = podman(['logs', name]);
  return r.stdout + r.stderr;
}

/** The one workload object of `kind` in a dist file. */
function distObject(file: string, kind: string, name?: string): Manifest {
  const o = loadDist(file).find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''} in ${file}`);
  return o;
}

/** A container's env with literal values, the downward API and Secret values resolved as given. */
function envOf(container: Manifest, values: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    let v: string = e.value ?? values[e.name];
    if (v === undefined) throw new Error(`no value for env ${e.name}`);
    // Kubernetes expands $(VAR) references to earlier variables.
    v = v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => env[n] ?? m);
    env[e.name] = v;
  }
  return env;
}

function probeCommand(container: Manifest, probe: 'readinessProbe' | 'livenessProbe'): string[] {
  const cmd = container[probe]?.exec?.command;
  if (!cmd) throw new Error(`container ${container.name} has no exec ${probe}`);
  return cmd;
}

beforeAll(async () => {
  const t0 = Date.now();
  images = await buildImages({ log: (l) => console.log(l) });
  coldSeconds = (Date.now() - t0) / 1000;
}, 45 * 60_000);

afterAll(() => {
  // Newest first: a container that joined another's network namespace goes before it.
  for (const name of [...started].reverse()) {
    const r = podman(['rm', '--force', '--time', '2', name]);
    if (r.status !== 0) console.warn(`could not remove container ${name}: ${r.stderr}`);
  }
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('the image set', () => {
  it('has a local name and an OCI archive, named by its reference, for every image', () => {
    const lines: string[] = [];
    for (const img of Object.values(images)) {
      expect(img.ref).toMatch(/^localhost\/kts\/[a-z-]+:[A-Za-z0-9_.-]+$/);
      const index = spawnSync('tar', ['-xOf', img.archive, 'index.json'], { encoding: 'utf8' });
      expect(index.status).toBe(0);
      const refs = (JSON.parse(index.stdout).manifests as any[]).map(
        (m) => m.annotations?.['org.opencontainers.image.ref.name'],
      );
      expect(refs).toContain(img.ref);
      lines.push(
        `${img.name.padEnd(9)} ${img.ref.padEnd(42)} ${(img.size / 1e6).toFixed(1).padStart(6)} MB image, ` +
          `${(statSync(img.archive).size / 1e6).toFixed(1).padStart(6)} MB archive, ` +
          `${img.built ? 'built' : 'up to date'} in ${img.seconds.toFixed(1)} s`,
      );
    }
    console.log(`images (${coldSeconds.toFixed(1)} s in all):\n${lines.join('\n')}`);
  });

  it('is found up to date by a second build, which only checks stamps', async () => {
    const t0 = Date.now();
    const again = await buildImages({ log: () => undefined });
    const seconds = (Date.now() - t0) / 1000;
    for (const img of Object.values(again)) {
      expect(img.built).toBe(false);
      expect(img.id).toBe(images[img.name].id);
    }
    console.log(`warm buildImages(): ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(60);
  });
});

describe('node base', () => {
  it('has node and npm on PATH and the node user with uid/gid 1000', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
    const r = runOnce({
      image: images.node.ref,
      uid: 1000,
      command: ['sh', '-c', 'node --version; npm --version; id'],
    });
    expect(r.stderr).toBe('');
    const [node, npm, id] = r.stdout.trim().split('\n');
    expect(node).toBe(`v${lock.packages['node_modules/node'].version}`);
    expect(npm).toMatch(/^\d+\.\d+\.\d+$/);
    expect(id).toBe('uid=1000(node) gid=1000(node) groups=1000(node)');
  });
});

describe('operator image', () => {
  it('prints package.json version with the Deployment command, as uid 1000 on a read-only root', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
    const deploy = distObject('memcached-operator', 'Deployment');
    const container = deploy.spec.template.spec.containers[0];
    const uid = container.securityContext.runAsUser;
    expect(uid).toBe(1000);
    const r = runOnce({ image: images.operator.ref, uid, command: [...container.command, '--version'] });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toContain(version);
    // what it may write: nothing (the root is read-only; /app is the image's)
    const w = runOnce({ image: images.operator.ref, uid, command: ['sh', '-c', 'pwd; touch x 2>&1 || true'] });
    expect(w.stdout).toContain('/app');
    expect(w.stdout).toMatch(/Read-only file system/);
  });
});

describe('memcached image', () => {
  it('serves set and get on its port as uid 11211, with the operand command', async () => {
    const operand = renderMemcachedOperand({
      owner: { apiVersion: 'cache.example.com/v1alpha1', name: 'test', namespace: 'default', uid: 'u' },
      spec: { size: 1, containerPort: 11211 },
      image: images.memcached.ref,
    } as any);
    const container = (operand.deployment as any).spec.template.spec.containers[0];
    const uid = container.securityContext.runAsUser;
    expect(uid).toBe(11211);
    const name = start('memcached', { image: container.image, uid, command: container.command });
    const port = container.ports[0].containerPort;
    const session =
      `exec 3<>/dev/tcp/127.0.0.1/${port}; ` +
      `printf 'set greeting 0 0 5\\r\\nhello\\r\\nget greeting\\r\\nquit\\r\\n' >&3; cat <&3`;
    const out = await until('memcached to answer', () => {
      const r = exec(name, ['bash', '-c', session]);
      return r.status === 0 && r.stdout.includes('END') ? r.stdout : undefined;
    });
    expect(out.replace(/\r/g, '')).toBe('STORED\nVALUE greeting 0 5\nhello\nEND\n');
    expect(exec(name, ['id', '-u']).stdout.trim()).toBe('11211');
    expect(exec(name, ['sh', '-c', 'cat /proc/1/status | grep ^Uid']).stdout).toMatch(/^Uid:\s+11211\s+11211/);
    expect(stopWithin(name, 30)).toEqual({ exitCode: 0, inTime: true });
  });
});

describe('redis image', () => {
  const password = `pw${RUN_ID}`;

  it('has every command the start scripts and probes use', () => {
    const tools = 'sh getent timeout awk sed sort uniq head tr grep redis-server redis-sentinel redis-cli';
    const r = runOnce({
      image: images.redis.ref,
      uid: 999,
      command: ['sh', '-c', `for t in ${tools}; do command -v $t >/dev/null || echo "missing $t"; done; id; pwd`],
    });
    expect(r.stdout.trim().split('\n')).toEqual(['uid=999(redis) gid=999(redis) groups=999(redis)', '/data']);
  });

  it("runs the Redis Pod's redis-server args as uid 999 and passes the Pod's probes", async () => {
    const pod = distObject('redis-pod', 'Pod');
    const c = pod.spec.containers[0];
    expect(c.securityContext.runAsUser).toBe(999);
    const name = start('redis-pod', {
      image: images.redis.ref,
      uid: 999,
      command: [...c.command, ...c.args],
      emptyDirs: c.volumeMounts.map((m: Manifest) => m.mountPath),
    });
    await until('the readiness probe', () =>
      exec(name, probeCommand(c, 'readinessProbe')).status === 0 ? true : undefined,
    );
    expect(exec(name, probeCommand(c, 'livenessProbe')).status).toBe(0);
    expect(exec(name, ['redis-cli', 'config', 'get', 'maxmemory-policy']).stdout).toContain('allkeys-lru');
  });

  it("starts the StatefulSet's pod 0 from its redis.conf and start script as master", async () => {
    const sts = distObject('redis-statefulset', 'StatefulSet');
    const cm = distObject('redis-statefulset', 'ConfigMap');
    const spec = sts.spec.template.spec;
    const c = spec.containers[0];
    const configMaps: Record<string, Record<string, string>> = {};
    const emptyDirs: string[] = [];
    for (const m of c.volumeMounts) {
      const vol = spec.volumes?.find((v: Manifest) => v.name === m.name);
      if (vol?.configMap) configMaps[m.mountPath] = cm.data;
      else emptyDirs.push(m.mountPath); // emptyDir, or the PersistentVolumeClaim's /data
    }
    expect(Object.keys(configMaps)).toEqual(['/etc/redis']);
    const env = envOf(c, { POD_NAMESPACE: 'default', REDIS_PASSWORD: password });
    const name = start('redis-sfs', {
      image: images.redis.ref,
      uid: c.securityContext.runAsUser,
      command: c.command,
      env,
      hostname: `${sts.metadata.name}-0`,
      emptyDirs,
      configMaps,
    });
    const probeEnv = { REDIS_PASSWORD: password, REDISCLI_AUTH: password };
    await until(
      'the readiness probe',
      () => (exec(name, probeCommand(c, 'readinessProbe'), probeEnv).status === 0 ? true : undefined),
      30_000,
    ).catch((err) => {
      throw new Error(`${err.message}\n${logsOf(name)}`);
    });
    expect(logsOf(name)).toContain('ordinal 0: starting as master');
    const info = exec(name, ['redis-cli', 'info', 'replication'], probeEnv).stdout;
    expect(info).toContain('role:master');
    expect(exec(name, ['redis-cli', 'config', 'get', 'appendonly'], probeEnv).stdout).toContain('yes');
  });

  it("starts redis-ha's server and Sentinel from their scripts: a master and a Sentinel monitoring it", async () => {
    const cm = distObject('redis-ha', 'ConfigMap', 'redis-ha');
    const sts = distObject('redis-ha', 'StatefulSet');
    const spec = sts.spec.template.spec;
    const [server, sentinel] = spec.containers as Manifest[];
    const values = { POD_NAMESPACE: 'default', REDIS_PASSWORD: password };
    const hostname = `${sts.metadata.name}-0`;
    const serverEnv = envOf(server, values);
    const self = `${hostname}.${serverEnv.HEADLESS_DOMAIN}`;
    const mounts = (c: Manifest) => {
      const configMaps: Record<string, Record<string, string>> = {};
      const emptyDirs: string[] = [];
      for (const m of c.volumeMounts) {
        const vol = spec.volumes?.find((v: Manifest) => v.name === m.name);
        if (vol?.configMap) configMaps[m.mountPath] = cm.data;
        else emptyDirs.push(m.mountPath);
      }
      return { configMaps, emptyDirs };
    };
    // One pod: the Sentinel container shares the server's network namespace; the pod's own
    // stable name resolves to it (the headless Service's DNS record on a real cluster).
    const pod = start('redis-ha-server', {
      image: images.redis.ref,
      uid: server.securityContext.runAsUser,
      command: server.command,
      env: serverEnv,
      hostname,
      addHosts: [`${self}:127.0.0.1`],
      ...mounts(server),
    });
    const auth = { REDISCLI_AUTH: password, REDIS_PASSWORD: password };
    await until(
      'the server to answer as master',
      () => (exec(pod, ['redis-cli', 'info', 'replication'], auth).stdout.includes('role:master') ? true : undefined),
      30_000,
    ).catch((err) => {
      throw new Error(`${err.message}\n${logsOf(pod)}`);
    });
    expect(logsOf(pod)).toContain(`starting as master (${self})`);
    const s = start('redis-ha-sentinel', {
      image: images.redis.ref,
      uid: sentinel.securityContext.runAsUser,
      command: sentinel.command,
      env: envOf(sentinel, values),
      hostname,
      addHosts: [`${self}:127.0.0.1`],
      podOf: pod,
      ...mounts(sentinel),
    });
    const sentinelPort = sentinel.ports[0].containerPort;
    const ask = ['redis-cli', '-p', String(sentinelPort), '--raw', 'sentinel', 'get-master-addr-by-name'];
    const master = await until(
      'the Sentinel to report the master',
      () => {
        const r = exec(s, [...ask, serverEnv.MASTER_SET], auth);
        return r.status === 0 && r.stdout.trim() ? r.stdout.trim().split('\n') : undefined;
      },
      60_000,
    ).catch((err) => {
      throw new Error(`${err.message}\n${logsOf(s)}`);
    });
    expect(master).toEqual([self, '6379']);
    // and the Sentinel sees it up: its own flags say master, not s_down/o_down
    const flags = await until('the master to be seen up', () => {
      const out = exec(s, ['redis-cli', '-p', String(sentinelPort), 'sentinel', 'master', serverEnv.MASTER_SET], auth)
        .stdout.split('\n')
        .map((l) => l.trim());
      const f = out[out.indexOf('flags') + 1];
      return f === 'master' ? f : undefined;
    });
    expect(flags).toBe('master');
    const probe = (name: string, c: Manifest, which: 'readinessProbe' | 'livenessProbe') =>
      exec(name, probeCommand(c, which), { REDIS_PASSWORD: password, MASTER_SET: serverEnv.MASTER_SET });
    expect(probe(pod, server, 'readinessProbe').status).toBe(0);
    expect(probe(pod, server, 'livenessProbe').status).toBe(0);
    expect(probe(s, sentinel, 'livenessProbe').status).toBe(0);
    // Ready takes a quorum of Sentinels (2 of 3): one alone is rightly not ready.
    const ready = probe(s, sentinel, 'readinessProbe');
    expect({ status: ready.status, out: ready.stdout }).toEqual({
      status: 1,
      out: expect.stringMatching(/^NOQUORUM 1 usable Sentinels/),
    });
    // SIGTERM (a rollout, a deleted pod): both exit 0 well within the pod's grace period.
    const grace = spec.terminationGracePeriodSeconds ?? 30;
    for (const name of [s, pod]) expect(stopWithin(name, grace)).toEqual({ exitCode: 0, inTime: true });
  });
});

describe('haproxy image', () => {
  const cm = () => distObject('redis-ha', 'ConfigMap', 'redis-ha-haproxy');
  const deployment = () => distObject('redis-ha', 'Deployment', 'redis-ha-haproxy');

  it("accepts redis-ha's haproxy.cfg (haproxy -c) as uid 99", () => {
    const c = deployment().spec.template.spec.containers[0];
    expect(c.securityContext.runAsUser).toBe(99);
    const cfg = c.command[c.command.indexOf('-f') + 1];
    const r = runOnce({
      image: images.haproxy.ref,
      uid: 99,
      command: ['haproxy', '-c', '-f', cfg],
      env: { POD_NAMESPACE: 'default', REDIS_PASSWORD: 'pw' },
      configMaps: { '/etc/haproxy-ha': cm().data },
    });
    expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({
      status: 0,
      out: expect.stringContaining('Configuration file is valid'),
    });
  });

  it('runs as the Deployment runs it and answers /healthz, and /ready with 503 while no master is up', async () => {
    const c = deployment().spec.template.spec.containers[0];
    const name = start('haproxy', {
      image: images.haproxy.ref,
      uid: c.securityContext.runAsUser,
      command: c.command,
      env: { POD_NAMESPACE: 'default', REDIS_PASSWORD: 'pw' },
      configMaps: { '/etc/haproxy-ha': cm().data },
    });
    const get = (port: number, path: string) =>
      exec(name, [
        'bash',
        '-c',
        `exec 3<>/dev/tcp/127.0.0.1/${port}; printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3; head -n 1 <&3`,
      ]).stdout.trim();
    const port = (n: string) => c.ports.find((p: Manifest) => p.name === n).containerPort as number;
    const health = await until('/healthz', () => get(port('health'), '/healthz') || undefined).catch((err) => {
      throw new Error(`${err.message}\n${logsOf(name)}`);
    });
    expect(health).toMatch(/^HTTP\/1\.[01] 200/);
    expect(get(port('ready'), '/ready')).toMatch(/^HTTP\/1\.[01] 503/);
    // stopped with the image's stop signal (SIGUSR1, a soft stop: as the official image)
    expect(ok(['inspect', '--format', '{{.Config.StopSignal}}', name]).trim()).toMatch(/^(SIGUSR1|10)$/);
    expect(stopWithin(name, deployment().spec.template.spec.terminationGracePeriodSeconds ?? 30)).toEqual({
      exitCode: 0,
      inTime: true,
    });
  });
});
