// A tiny stand-in for a node (kubelet + container runtime + cluster DNS) that runs the
// containers of synthesized pod specs as real processes, so the Redis stacks' scripts and
// configs are exercised exactly as rendered in dist/.
//
// Each pod gets
//   - its own network namespace, with `lo` and an `eth0` veth into a bridge that lives in a
//     separate "switch" network namespace (the host's network namespace is never touched,
//     and nothing routes out: the 10.244.0.0/24 pod addresses exist only inside these
//     namespaces). One namespace per pod is needed because every pod binds the same port on
//     all addresses, and so that Redis sees its peers as remote (protected mode, replica
//     addresses) as it does in a cluster;
//   - per container, a private mount + UTS + PID namespace: hostname = pod name, the root is
//     an overlay of the machine's root (so the host's files are never written), remounted
//     read-only when `readOnlyRootFilesystem` is set, with the pod's volumes bind-mounted at
//     their mount paths and /etc/hosts + /etc/resolv.conf from the pod's own directory;
//   - the process runs as the pod's runAsUser/runAsGroup/fsGroup with no_new_privs and an
//     empty capability bounding set, with exactly the container's env (downward API,
//     Secret and ConfigMap references and $(VAR) expansion resolved as the kubelet does).
// Cluster DNS is emulated with each pod's hosts file: headless-Service records plus the
// short forms the pod's search path (<ns>.svc.<domain> svc.<domain> <domain>) would expand.
// A name that is not (yet) in the table fails to resolve at once, like NXDOMAIN.
//
// Not emulated: seccomp, resource limits, ClusterIP load balancing (a Service name resolves to
// the addresses the test registers for it), probes run by a loop (tests run the probe
// commands themselves with `probe()`).
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawn, ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { must, run, RunResult, shq, withTimeout } from './sys';
import { sleep, waitFor } from './wait';

type Json = any;

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SUBNET = '10.244.0';
let clusterCounter = 0;

export interface ClusterOptions {
  namespace: string;
  clusterDomain: string;
  /** Secret contents by Secret name, as the user would have created them. */
  secrets?: Record<string, Record<string, string>>;
  /** ConfigMap contents by name (from the synthesized manifests). */
  configMaps?: Record<string, Record<string, string>>;
  /**
   * Run a DNS server (dnsmasq, at 10.244.0.2) serving the cluster records, and point the pods'
   * resolv.conf at it: for programs that resolve through DNS only (HAProxy's resolvers).
   * Without it, names resolve through each pod's hosts file only.
   */
  dns?: boolean;
}

export interface PodOptions {
  /** Pod name; also the hostname unless `hostname` is given. */
  name: string;
  /** The pod spec as synthesized (spec.template.spec of a workload). */
  spec: Json;
  /** spec.subdomain (a StatefulSet sets it to serviceName): adds the pod's FQDN to its hosts file. */
  subdomain?: string;
  /** Host directories standing in for PersistentVolumeClaims, by volume name. */
  pvcs?: Record<string, string>;
  /** Restart a container that exits (restartPolicy Always). Default true. */
  restart?: boolean;
  /** Delay before such a restart. Default 1000 ms. */
  restartDelayMs?: number;
  /** Whether the pod's own DNS records are published before its containers start. Default true. */
  publishDns?: boolean;
}

/** One emulated cluster: a switch namespace, pods, DNS records. Always `destroy()` it. */
export class FakeCluster {
  readonly id: string;
  readonly dir: string;
  readonly switchNs: string;
  readonly pods = new Map<string, FakePod>();
  /** Cluster DNS: fully qualified name -> addresses. */
  private readonly records = new Map<string, string[]>();
  private nextHost = 10;
  private destroyed = false;
  private dnsmasq?: ChildProcess;
  static readonly DNS_IP = `${SUBNET}.2`;

  private constructor(readonly opts: ClusterOptions) {
    this.id = `rh${process.pid}x${clusterCounter++}`;
    this.dir = mkdtempSync(join(tmpdir(), `${this.id}-`));
    this.switchNs = `${this.id}-sw`;
  }

  static async create(opts: ClusterOptions): Promise<FakeCluster> {
    await cleanStale();
    const c = new FakeCluster(opts);
    try {
      await must('ip', ['netns', 'add', c.switchNs]);
      await must('ip', ['-n', c.switchNs, 'link', 'set', 'lo', 'up']);
      await must('ip', ['-n', c.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
      await must('ip', ['-n', c.switchNs, 'link', 'set', 'br0', 'up']);
      if (opts.dns) await c.startDns();
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  private get dnsNs() {
    return `${this.id}-dns`;
  }

  /** dnsmasq in its own namespace, answering from `records` only; NXDOMAIN for other names in the cluster domain. */
  private async startDns() {
    const ns = this.dnsNs;
    await must('ip', ['netns', 'add', ns]);
    await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await must('ip', ['-n', this.switchNs, 'link', 'add', 'vdns', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await must('ip', ['-n', this.switchNs, 'link', 'set', 'vdns', 'master', 'br0']);
    await must('ip', ['-n', this.switchNs, 'link', 'set', 'vdns', 'up']);
    await must('ip', ['-n', ns, 'addr', 'add', `${FakeCluster.DNS_IP}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    this.writeDnsRecords();
    const fd = openSync(join(this.dir, 'dnsmasq.log'), 'a');
    this.dnsmasq = spawn(
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        'ip',
        'netns',
        'exec',
        ns,
        'dnsmasq',
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${join(this.dir, 'dns-records')}`,
        `--listen-address=${FakeCluster.DNS_IP}`,
        '--bind-interfaces',
        `--local=/${this.opts.clusterDomain}/`,
        '--local-ttl=1',
        '--neg-ttl=1',
        '--user=root',
        '--group=root',
        '--pid-file=',
        '--log-facility=-',
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    // Ready when it answers.
    await waitFor(
      'dnsmasq',
      async () => (await run('ip', ['netns', 'exec', this.switchNs, 'true'])).code === 0 && !!this.dnsmasq?.pid,
      { timeoutMs: 5000 },
    );
    await sleep(300);
  }

  private writeDnsRecords() {
    const lines: string[] = [];
    for (const [fqdn, addrs] of [...this.records.entries()].sort()) for (const a of addrs) lines.push(`${a}\t${fqdn}`);
    const f = join(this.dir, 'dns-records');
    writeFileSync(`${f}.tmp`, `${lines.join('\n')}\n`);
    chmodSync(`${f}.tmp`, 0o644);
    renameSync(`${f}.tmp`, f);
    if (this.dnsmasq?.pid) this.dnsmasq.kill('SIGHUP');
  }

  get namespace() {
    return this.opts.namespace;
  }

  /** `<name>.<ns>.svc.<domain>` */
  svcFqdn(name: string) {
    return `${name}.${this.opts.namespace}.svc.${this.opts.clusterDomain}`;
  }

  /** Sets (or with no addresses removes) a DNS record and rewrites every pod's hosts file. */
  setRecord(fqdn: string, addresses: string[]) {
    if (addresses.length) this.records.set(fqdn, addresses);
    else this.records.delete(fqdn);
    this.writeAllHosts();
    if (this.opts.dns) this.writeDnsRecords();
  }

  /** Creates and starts a pod. */
  async addPod(opts: PodOptions): Promise<FakePod> {
    if (this.pods.has(opts.name)) throw new Error(`pod ${opts.name} exists`);
    const pod = new FakePod(this, opts, this.allocIp(), this.pods.size);
    this.pods.set(opts.name, pod);
    await pod.setUpNetwork();
    if (opts.publishDns !== false) pod.publishDns();
    this.writeAllHosts();
    await pod.startAll();
    return pod;
  }

  /** Deletes a pod: kills its containers, removes its DNS records and network namespace. */
  async deletePod(name: string) {
    const pod = this.pods.get(name);
    if (!pod) return;
    pod.unpublishDns();
    await pod.killAll();
    await run('ip', ['netns', 'del', pod.netns]);
    this.pods.delete(name);
  }

  allocIp(): string {
    if (this.nextHost > 250) throw new Error('out of pod addresses');
    return `${SUBNET}.${this.nextHost++}`;
  }

  /** The hosts file a pod sees: its own entry, then every cluster record plus search-path forms. */
  hostsFor(pod: FakePod): string {
    const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    const own = pod.opts.subdomain
      ? `${pod.hostname}.${pod.opts.subdomain}.${this.opts.namespace}.svc.${this.opts.clusterDomain}`
      : undefined;
    lines.push(`${pod.ip}\t${own ? `${own} ` : ''}${pod.hostname}`);
    const suffixes = [
      `.${this.opts.namespace}.svc.${this.opts.clusterDomain}`,
      `.svc.${this.opts.clusterDomain}`,
      `.${this.opts.clusterDomain}`,
    ];
    for (const [fqdn, addrs] of [...this.records.entries()].sort()) {
      const names = [fqdn];
      for (const s of suffixes) if (fqdn.endsWith(s)) names.push(fqdn.slice(0, -s.length));
      for (const a of addrs) lines.push(`${a}\t${[...new Set(names)].join(' ')}`);
    }
    return `${lines.join('\n')}\n`;
  }

  writeAllHosts() {
    for (const p of this.pods.values()) p.writeEtc();
  }

  /** Kills every process, deletes every namespace and the temporary directory. Idempotent. */
  async destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.pods.values()].map((p) => p.killAll().catch(() => undefined)));
    for (const p of this.pods.values()) await run('ip', ['netns', 'del', p.netns]);
    if (this.dnsmasq?.pid) {
      const exited = new Promise((r) => this.dnsmasq!.once('exit', r));
      this.dnsmasq.kill('SIGKILL');
      await withTimeout(exited, 5000, 'dnsmasq did not exit').catch(() => undefined);
    }
    if (this.opts.dns) await run('ip', ['netns', 'del', this.dnsNs]);
    killStragglers(this.dir);
    await run('ip', ['netns', 'del', this.switchNs]);
    if (process.env.KEEP_REDIS_HARNESS_DIR) return;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Safety net: SIGKILLs any process still working in `dir` (its cwd is below it). */
function killStragglers(dir: string) {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${p}/cwd`);
    } catch {
      continue;
    }
    if (cwd.startsWith(`${dir}/`)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** Deletes network namespaces and directories left by harness runs whose process is gone (killed test runs). */
async function cleanStale() {
  const r = await run('ip', ['netns', 'list']);
  for (const line of r.stdout.split('\n')) {
    const m = /^(rh(\d+)x\d+-\S+)/.exec(line.trim());
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    await run('ip', ['netns', 'del', m[1]]);
  }
  for (const d of readdirSync(tmpdir())) {
    const m = /^rh(\d+)x\d+-/.exec(d);
    if (!m || Number(m[1]) === process.pid || existsSync(`/proc/${m[1]}`)) continue;
    killStragglers(join(tmpdir(), d));
    rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
}

interface ContainerState {
  name: string;
  spec: Json;
  env: Record<string, string>;
  child?: ChildProcess;
  /** Host PID of the container's main process. */
  pid?: number;
  exited?: Promise<number | null>;
  stopping: boolean;
  restarts: number;
  exits: (number | null)[];
  runDir: string;
  log: string;
  runCount: number;
}

export class FakePod {
  readonly hostname: string;
  readonly netns: string;
  readonly dir: string;
  readonly containers = new Map<string, ContainerState>();
  private readonly volumes = new Map<string, { src: string; readOnly: boolean; emptyDir?: boolean }>();

  constructor(
    readonly cluster: FakeCluster,
    readonly opts: PodOptions,
    public ip: string,
    index: number,
  ) {
    this.hostname = opts.spec.hostname ?? opts.name;
    this.netns = `${cluster.id}-p${index}`;
    this.dir = join(cluster.dir, `pod-${opts.name}`);
    mkdirSync(join(this.dir, 'etc'), { recursive: true });
  }

  get fqdn(): string | undefined {
    const s = this.opts.subdomain;
    return s ? `${this.hostname}.${s}.${this.cluster.namespace}.svc.${this.cluster.opts.clusterDomain}` : undefined;
  }

  publishDns() {
    if (this.fqdn) this.cluster.setRecord(this.fqdn, [this.ip]);
  }

  unpublishDns() {
    if (this.fqdn) this.cluster.setRecord(this.fqdn, []);
  }

  async setUpNetwork() {
    const sw = this.cluster.switchNs;
    const idx = this.netns.slice(this.netns.lastIndexOf('-p') + 2);
    const host = `v${idx}`;
    await must('ip', ['netns', 'add', this.netns]);
    await must('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
    await must('ip', ['-n', sw, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns]);
    await must('ip', ['-n', sw, 'link', 'set', host, 'master', 'br0']);
    await must('ip', ['-n', sw, 'link', 'set', host, 'up']);
    await must('ip', ['-n', this.netns, 'addr', 'add', `${this.ip}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', this.netns, 'link', 'set', 'eth0', 'up']);
  }

  /** Gives the pod a new address (as a recreated pod gets) and republishes its DNS record. */
  async changeIp() {
    const old = this.ip;
    this.ip = this.cluster.allocIp();
    await must('ip', ['-n', this.netns, 'addr', 'del', `${old}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', this.netns, 'addr', 'add', `${this.ip}/24`, 'dev', 'eth0']);
    this.publishDns();
    this.cluster.writeAllHosts();
  }

  /** Cuts (false) or restores (true) the pod's network: a partition, processes keep running. */
  async setLink(up: boolean) {
    await must('ip', ['-n', this.netns, 'link', 'set', 'eth0', up ? 'up' : 'down']);
    if (up) {
      // Bringing the link up again drops the address's routes: restore them.
      await run('ip', ['-n', this.netns, 'addr', 'add', `${this.ip}/24`, 'dev', 'eth0']);
    }
  }

  /** A recreated pod gets new, empty emptyDirs (its PVCs stay). Containers must be stopped. */
  wipeEmptyDirs() {
    if ([...this.containers.values()].some((c) => c.child))
      throw new Error(`pod ${this.opts.name}: stop its containers first`);
    for (const v of this.volumes.values()) {
      if (!v.emptyDir) continue;
      rmSync(v.src, { recursive: true, force: true });
      mkdirSync(v.src, { recursive: true });
      chmodSync(v.src, 0o777);
    }
  }

  writeEtc() {
    const etc = join(this.dir, 'etc');
    const put = (name: string, text: string) => {
      writeFileSync(join(etc, `.${name}.tmp`), text);
      chmodSync(join(etc, `.${name}.tmp`), 0o644);
      renameSync(join(etc, `.${name}.tmp`), join(etc, name));
    };
    put('hosts', this.cluster.hostsFor(this));
    // Search path as in a pod; the name server is this pod's own loopback, where nothing
    // listens: anything not in the hosts file fails at once.
    const d = this.cluster.opts.clusterDomain;
    const ns = this.cluster.namespace;
    const server = this.cluster.opts.dns ? FakeCluster.DNS_IP : '127.0.0.1';
    put(
      'resolv.conf',
      `search ${ns}.svc.${d} svc.${d} ${d}\nnameserver ${server}\noptions ndots:5 timeout:1 attempts:2\n`,
    );
  }

  private get podSecurity(): Json {
    return this.opts.spec.securityContext ?? {};
  }

  private prepareVolumes() {
    const fsGroup: number | undefined = this.podSecurity.fsGroup;
    const gid = fsGroup ?? 0;
    for (const v of this.opts.spec.volumes ?? []) {
      if (this.volumes.has(v.name)) continue;
      const dir = join(this.dir, 'volumes', v.name);
      if (v.emptyDir) {
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777);
        this.volumes.set(v.name, { src: dir, readOnly: false, emptyDir: true });
      } else if (v.configMap || v.secret) {
        const isSecret = !!v.secret;
        const srcName: string = isSecret ? v.secret.secretName : v.configMap.name;
        const data = (isSecret ? this.cluster.opts.secrets : this.cluster.opts.configMaps)?.[srcName];
        const optional = (isSecret ? v.secret : v.configMap).optional;
        if (!data && !optional)
          throw new Error(`pod ${this.opts.name}: ${isSecret ? 'Secret' : 'ConfigMap'} ${srcName} not found`);
        mkdirSync(dir, { recursive: true });
        const mode: number = (isSecret ? v.secret : v.configMap).defaultMode ?? 0o644;
        const items: Json[] | undefined = (isSecret ? v.secret : v.configMap).items;
        const files = items
          ? items.map((i) => ({ key: i.key, path: i.path, mode: i.mode ?? mode }))
          : Object.keys(data ?? {}).map((k) => ({ key: k, path: k, mode }));
        for (const f of files) {
          if (data?.[f.key] === undefined) throw new Error(`pod ${this.opts.name}: key ${f.key} missing in ${srcName}`);
          const p = join(dir, f.path);
          writeFileSync(p, data[f.key]);
          chownSync(p, 0, gid);
          chmodSync(p, fsGroup !== undefined ? f.mode | 0o040 : f.mode);
        }
        chownSync(dir, 0, gid);
        chmodSync(dir, 0o755);
        this.volumes.set(v.name, { src: dir, readOnly: true });
      } else if (v.persistentVolumeClaim) {
        throw new Error(`pod ${this.opts.name}: volume ${v.name}: pass persistentVolumeClaim dirs via pvcs`);
      } else {
        throw new Error(`pod ${this.opts.name}: volume ${v.name}: unsupported type ${Object.keys(v).join(',')}`);
      }
    }
    for (const [name, src] of Object.entries(this.opts.pvcs ?? {})) {
      if (this.volumes.has(name)) continue;
      mkdirSync(src, { recursive: true });
      // What the kubelet does for fsGroup: group-owned, group-writable, setgid.
      chownSync(src, 0, gid);
      chmodSync(src, fsGroup !== undefined ? 0o2775 : 0o755);
      this.volumes.set(name, { src, readOnly: false });
    }
  }

  /** The container's environment as the kubelet would compute it. */
  private resolveEnv(c: Json): Record<string, string> {
    const env: Record<string, string> = { PATH, HOSTNAME: this.hostname, HOME: '/' };
    const { secrets, configMaps } = this.cluster.opts;
    for (const from of c.envFrom ?? []) {
      const src = from.secretRef ? secrets?.[from.secretRef.name] : configMaps?.[from.configMapRef?.name];
      if (!src) throw new Error(`envFrom source missing for ${c.name}`);
      for (const [k, v] of Object.entries(src)) env[`${from.prefix ?? ''}${k}`] = v;
    }
    const expand = (s: string) =>
      s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => (m === '$$' ? '$' : name in env ? env[name] : m));
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = expand(String(e.value));
      else if (e.valueFrom?.fieldRef) {
        const f: string = e.valueFrom.fieldRef.fieldPath;
        const fields: Record<string, string> = {
          'metadata.name': this.opts.name,
          'metadata.namespace': this.cluster.namespace,
          'status.podIP': this.ip,
          'spec.nodeName': 'fake-node',
          'spec.serviceAccountName': this.opts.spec.serviceAccountName ?? 'default',
        };
        if (!(f in fields)) throw new Error(`unsupported fieldRef ${f}`);
        env[e.name] = fields[f];
      } else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
        const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef;
        const src = (e.valueFrom.secretKeyRef ? secrets : configMaps)?.[ref.name];
        const v = src?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new Error(`pod ${this.opts.name}: ${ref.name}/${ref.key} not found for env ${e.name}`);
        }
        env[e.name] = v;
      } else if (e.valueFrom?.resourceFieldRef) {
        env[e.name] = '1';
      } else {
        env[e.name] = '';
      }
    }
    return env;
  }

  private ids(c: Json) {
    const pod = this.podSecurity;
    const sc = c.securityContext ?? {};
    const uid: number = sc.runAsUser ?? pod.runAsUser ?? 0;
    const gid: number = sc.runAsGroup ?? pod.runAsGroup ?? 0;
    const groups = [
      ...new Set([...(pod.fsGroup !== undefined ? [pod.fsGroup] : []), ...(pod.supplementalGroups ?? [])]),
    ];
    return { uid, gid, groups, readOnlyRoot: sc.readOnlyRootFilesystem === true };
  }

  /** `setpriv … env -i …` prefix that enters the container's identity and environment. */
  private identity(c: Json, env: Record<string, string>, workdir: string): string[] {
    const { uid, gid, groups } = this.ids(c);
    return [
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${gid}`,
      groups.length ? `--groups=${groups.join(',')}` : '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      '--bounding-set=-all',
      'env',
      '-i',
      '-C',
      workdir,
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ];
  }

  async startAll() {
    this.prepareVolumes();
    for (const c of this.opts.spec.initContainers ?? []) {
      const st = this.state(c);
      await this.launch(st);
      const code = await st.exited;
      if (code !== 0)
        throw new Error(`pod ${this.opts.name}: init container ${c.name} exited ${code}:\n${this.logs(c.name)}`);
    }
    for (const c of this.opts.spec.containers) await this.launch(this.state(c));
  }

  private state(c: Json): ContainerState {
    let st = this.containers.get(c.name);
    if (!st) {
      st = {
        name: c.name,
        spec: c,
        env: this.resolveEnv(c),
        stopping: false,
        restarts: 0,
        exits: [],
        runDir: join(this.dir, 'c', c.name),
        log: join(this.dir, `${c.name}.log`),
        runCount: 0,
      };
      this.containers.set(c.name, st);
    }
    return st;
  }

  private async launch(st: ContainerState) {
    const c = st.spec;
    st.stopping = false;
    st.runCount++;
    // A fresh writable layer per container start, as a container runtime gives.
    const runPath = join(st.runDir, String(st.runCount));
    for (const d of ['upper', 'work', 'root']) mkdirSync(join(runPath, d), { recursive: true });
    const { readOnlyRoot } = this.ids(c);
    const workdir: string = c.workingDir ?? '/data';
    const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
    if (!c.command) throw new Error(`container ${c.name}: no command (the image entrypoint is not emulated)`);
    const expand = (s: string) =>
      s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => (m === '$$' ? '$' : n in st.env ? st.env[n] : m));
    const R = join(runPath, 'root');
    const lines = [
      'set -eu',
      `hostname ${shq(this.hostname)}`,
      `R=${shq(R)}`,
      `mount -t overlay overlay -o ${shq(`lowerdir=/,upperdir=${join(runPath, 'upper')},workdir=${join(runPath, 'work')}`)} "$R"`,
      'mount -t proc proc "$R/proc"',
      'mount --rbind /dev "$R/dev"',
      'mkdir -p "$R/run/podinfo" "$R/data"',
      `mount --bind ${shq(join(this.dir, 'etc'))} "$R/run/podinfo"`,
      'mount -o remount,bind,ro "$R/run/podinfo"',
      'rm -f "$R/etc/hosts" "$R/etc/resolv.conf"',
      'ln -s /run/podinfo/hosts "$R/etc/hosts"',
      'ln -s /run/podinfo/resolv.conf "$R/etc/resolv.conf"',
      // The official image's tmp is part of the (read-only) root: nothing else is writable.
    ];
    for (const m of c.volumeMounts ?? []) {
      const vol = this.volumes.get(m.name);
      if (!vol) throw new Error(`container ${c.name}: volume ${m.name} not defined`);
      const src = m.subPath ? join(vol.src, m.subPath) : vol.src;
      const dst = `"$R"${shq(m.mountPath)}`;
      lines.push(
        m.subPath && !m.subPath.endsWith('/') && existsSync(src) && !isDir(src)
          ? `mkdir -p "$(dirname ${dst})"; touch ${dst}`
          : `mkdir -p ${dst}`,
      );
      lines.push(`mount --bind ${shq(src)} ${dst}`);
      if (m.readOnly || vol.readOnly) lines.push(`mount -o remount,bind,ro ${dst}`);
    }
    if (readOnlyRoot) lines.push('mount -o remount,ro "$R"');
    // This sh stays PID 1 of the container's PID namespace and keeps the parent-death signal
    // that `unshare --kill-child` gave it (a change of user would clear it): if the test
    // process dies, unshare dies, this sh dies, and the kernel kills the whole namespace.
    lines.push(`chroot "$R" ${[...this.identity(c, st.env, workdir), ...argv.map(expand)].map(shq).join(' ')} &`);
    lines.push('wait $!');
    const script = join(runPath, 'start.sh');
    writeFileSync(script, `${lines.join('\n')}\n`);
    const fd = openSync(st.log, 'a');
    writeFileSync(fd, `--- start #${st.runCount} ${new Date().toISOString()}\n`);
    const child = spawn(
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        'ip',
        'netns',
        'exec',
        this.netns,
        'unshare',
        '--mount',
        '--uts',
        '--pid',
        '--fork',
        '--kill-child',
        '--propagation',
        'private',
        '--',
        'sh',
        script,
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    st.child = child;
    st.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        const result = code ?? (signal ? -1 : null);
        try {
          writeFileSync(
            st.log,
            `--- exit #${st.runCount} code=${code} signal=${signal} ${new Date().toISOString()}${st.stopping ? ' (stopped)' : ''}\n`,
            { flag: 'a' },
          );
        } catch {
          /* the pod directory is gone */
        }
        st.exits.push(result);
        st.pid = undefined;
        if (st.child === child) st.child = undefined;
        resolve(result);
        if (
          !st.stopping &&
          this.opts.restart !== false &&
          !(this.opts.spec.initContainers ?? []).some((i: Json) => i.name === st.name)
        ) {
          st.restarts++;
          setTimeout(() => {
            if (!st.stopping && !st.child) void this.launch(st).catch(() => undefined);
          }, this.opts.restartDelayMs ?? 1000);
        }
      });
    });
    // Wait until the container's process has entered its root (or exited).
    await waitFor(
      `container ${this.opts.name}/${c.name} to start`,
      async () => {
        if (!st.child) return true;
        const init = Number((await run('pgrep', ['-P', String(child.pid)])).stdout.trim().split('\n')[0]);
        if (!init) return false;
        const pid = Number((await run('pgrep', ['-P', String(init)])).stdout.trim().split('\n')[0]);
        if (!pid) return false;
        try {
          if (readlinkSync(`/proc/${pid}/root`) === R) {
            st.pid = pid;
            return true;
          }
        } catch {
          /* not there yet */
        }
        return false;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
  }

  /** Container log (stdout and stderr of every start). */
  logs(container: string): string {
    const st = this.containers.get(container);
    return st && existsSync(st.log) ? readFileSync(st.log, 'utf8') : '';
  }

  restarts(container: string): number {
    return this.containers.get(container)?.restarts ?? 0;
  }

  /** Sends a signal to the container's main process (SIGKILL = crash, SIGTERM = stop). */
  async signal(container: string, sig: NodeJS.Signals, opts: { restart?: boolean } = {}) {
    const st = this.containers.get(container);
    if (!st?.child || !st.pid) throw new Error(`container ${container} is not running`);
    if (opts.restart === false) st.stopping = true;
    const exited = st.exited;
    process.kill(st.pid, sig);
    await withTimeout(exited!, 35_000, `container ${container} did not exit on ${sig}`);
  }

  /** Starts a container that was stopped with `signal(…, { restart: false })`. */
  async start(container: string) {
    const st = this.containers.get(container);
    if (!st) throw new Error(`no container ${container}`);
    if (st.child) throw new Error(`container ${container} is running`);
    await this.launch(st);
  }

  running(container: string): boolean {
    return !!this.containers.get(container)?.child;
  }

  async killAll() {
    const waits: Promise<unknown>[] = [];
    for (const st of this.containers.values()) {
      st.stopping = true;
      if (st.child) {
        waits.push(st.exited!);
        if (st.pid) {
          try {
            process.kill(st.pid, 'SIGKILL');
          } catch {
            /* gone already */
          }
        }
        st.child.kill('SIGKILL');
      }
    }
    await withTimeout(Promise.all(waits), 10_000, `pod ${this.opts.name}: containers did not exit on SIGKILL`).catch(
      () => undefined,
    );
  }

  /** `kubectl exec`: runs argv inside the container (its namespaces, root, user and env). */
  async exec(container: string, argv: string[], timeoutMs = 10_000): Promise<RunResult> {
    const st = this.containers.get(container);
    if (!st?.pid) throw new Error(`container ${this.opts.name}/${container} is not running`);
    return run(
      'nsenter',
      ['-t', String(st.pid), '-m', '-u', '-n', '-p', '-r', '-w', ...this.identity(st.spec, st.env, '.'), ...argv],
      { timeoutMs },
    );
  }

  /** Runs the container's liveness/readiness/startup probe command once; true when it passes. */
  async probe(container: string, kind: 'liveness' | 'readiness' | 'startup'): Promise<{ ok: boolean; output: string }> {
    const st = this.containers.get(container);
    const p = st?.spec[`${kind}Probe`];
    if (!p?.exec) throw new Error(`container ${container} has no exec ${kind} probe`);
    const r = await this.exec(container, p.exec.command, (p.timeoutSeconds ?? 1) * 1000);
    return { ok: r.code === 0, output: (r.stdout + r.stderr).trim() };
  }
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
