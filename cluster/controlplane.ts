// A real Kubernetes control plane for tests: etcd + kube-apiserver (tier 'api'), plus
// kube-controller-manager, kube-scheduler and kwok-managed fake nodes (tier 'workload').
// Binaries come from scripts/cluster-build.sh (.cache/cluster-bin/) or, for apiserver and
// etcd, from $KUBEBUILDER_ASSETS. See docs/test-cluster.md.
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ClusterAccess, certUser, kubeconfigDocument, writeKubeconfig, type ClientKubeconfig, type ServiceAccountTokenOptions } from './access';
import { clientCert, createPki, type Pki } from './pki';

export type { ClientKubeconfig, ServiceAccountTokenOptions } from './access';

export type Tier = 'api' | 'workload';

export interface ControlPlaneOptions {
  /** 'api': etcd + kube-apiserver. 'workload': also controller-manager, scheduler, kwok and nodes. Default 'api'. */
  tier?: Tier;
  /** workload tier: number of kwok-managed Nodes to create (default 1) */
  nodes?: number;
  /** workload tier: kube-controller-manager --controllers (default: DEFAULT_CONTROLLERS) */
  controllers?: readonly string[];
  /** extra kube-apiserver flags, e.g. ['--feature-gates=…'] */
  apiserverArgs?: readonly string[];
  /** workload tier: extra kube-controller-manager flags, e.g. ['--kube-api-qps=200'] */
  controllerManagerArgs?: readonly string[];
  /** workload tier: extra kube-scheduler flags */
  schedulerArgs?: readonly string[];
  /** how long each start step may take (default 120 s; the first start on a busy 2-core box is the slow one) */
  timeoutMs?: number;
  /** parent of the control plane's temporary directory (default os.tmpdir()) */
  baseDir?: string;
  /** progress messages (default: none) */
  log?: (message: string) => void;
}

/** Milliseconds spent in each start step. */
export interface Timings {
  pki: number;
  etcd: number;
  apiserver: number;
  workload?: number;
  total: number;
}

export interface ControlPlane {
  readonly tier: Tier;
  /** temporary directory: pki/, logs/, etcd/, kubeconfigs/ (removed by stop()) */
  readonly dir: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** admin kubeconfig (user kubernetes-admin in system:masters) */
  readonly kubeconfigPath: string;
  readonly pki: Pki;
  /** names of the kwok Nodes (workload tier) */
  readonly nodes: readonly string[];
  readonly timings: Timings;
  /** log file of each component */
  readonly logs: Readonly<Record<string, string>>;
  /** a fresh admin KubeConfig */
  kubeConfig(): k8s.KubeConfig;
  /** client-certificate kubeconfig for `user` in `groups` */
  userKubeconfig(user: string, groups?: readonly string[], namespace?: string): Promise<ClientKubeconfig>;
  /** bound-token kubeconfig for a ServiceAccount (created if missing) */
  serviceAccountKubeconfig(namespace: string, name: string, opts?: ServiceAccountTokenOptions): Promise<ClientKubeconfig>;
  /** GET /metrics of kube-apiserver as admin */
  apiserverMetrics(): Promise<string>;
  /** GET any apiserver path as admin */
  get(path: string): Promise<{ status: number; body: string }>;
  /** stop kube-apiserver (SIGTERM) and start it again on the same port and etcd; resolves when /readyz is ok */
  restartApiServer(): Promise<void>;
  /** kill every process and remove the directory; safe to call twice */
  stop(): Promise<void>;
}

export const DEFAULT_CONTROLLERS: readonly string[] = [
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'job-controller',
  'cronjob-controller',
  'replicationcontroller-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-protection-controller',
  'persistentvolumeclaim-protection-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
  'disruption-controller',
  'resourcequota-controller',
  'ttl-after-finished-controller',
  'pod-garbage-collector-controller',
  // removes the node.kubernetes.io/not-ready taint that admission puts on new Nodes once
  // kwok reports them Ready (and taints them again if kwok stops heartbeating)
  'node-lifecycle-controller',
];

const SERVICE_CIDR = '10.0.0.0/24';

// ---------------------------------------------------------------------------------------
// binaries

/** The repository root: the nearest directory up from cwd holding scripts/cluster-build.sh. */
export function repoRoot(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'cluster-build.sh'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** Where scripts/cluster-build.sh puts the binaries ($CLUSTER_BIN_DIR overrides). */
export function binDir(): string {
  return resolve(process.env.CLUSTER_BIN_DIR ?? join(repoRoot(), '.cache', 'cluster-bin'));
}

export interface Binaries {
  etcd: string[];
  apiserver: string[];
  controllerManager: string[];
  scheduler: string[];
  kwok: string[];
  kwokStages: string;
}

export class MissingBinariesError extends Error {}

/** Resolves the command line of each component; throws MissingBinariesError with the fix. */
export function findBinaries(tier: Tier): Binaries {
  const dir = binDir();
  const kube = join(dir, 'kube');
  const assets = process.env.KUBEBUILDER_ASSETS;
  const fromAssets = (name: string) => (assets && existsSync(join(assets, name)) ? [join(assets, name)] : undefined);
  const bins: Binaries = {
    etcd: fromAssets('etcd') ?? [kube, 'etcd'],
    apiserver: fromAssets('kube-apiserver') ?? [kube, 'kube-apiserver'],
    controllerManager: [kube, 'kube-controller-manager'],
    scheduler: [kube, 'kube-scheduler'],
    kwok: [join(dir, 'kwok')],
    kwokStages: join(dir, 'kwok-stages.yaml'),
  };
  const needed = tier === 'api' ? [bins.etcd[0], bins.apiserver[0]] : [bins.etcd[0], bins.apiserver[0], kube, bins.kwok[0], bins.kwokStages];
  const missing = [...new Set(needed)].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new MissingBinariesError(
      `test control plane binaries missing: ${missing.join(', ')}.\n` +
        `Build them with \`npm run cluster:build\` (needs Go >= 1.26 and the Go module proxy; the first build takes ` +
        `10-20 minutes)` +
        (tier === 'api' ? `, or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver and etcd.` : '.'),
    );
  }
  return bins;
}

// ---------------------------------------------------------------------------------------
// processes

/** Every control plane of this process that is not stopped yet: killed on exit/signal. */
const live = new Set<ControlPlaneImpl>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const cp of live) cp.killSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const cp of live) cp.killSync();
      // Behave as if we had not listened: die of the same signal unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

class Component {
  child?: ChildProcess;
  exited?: Promise<void>;
  exitStatus?: string;

  constructor(
    readonly name: string,
    readonly argv: string[],
    readonly logPath: string,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  start(onChange: () => void): void {
    const fd = openSync(this.logPath, 'a');
    writeFileSync(fd, `\n=== ${new Date().toISOString()} ${this.argv.join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(this.argv[0], this.argv.slice(1), { stdio: ['ignore', fd, fd], env: this.env });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitStatus = undefined;
    this.exited = new Promise((done) => {
      child.once('error', (err) => {
        this.exitStatus = `failed to start: ${err.message}`;
        done();
        onChange();
      });
      child.once('exit', (code, signal) => {
        this.exitStatus = signal ? `killed by ${signal}` : `exited with code ${code}`;
        done();
        onChange();
      });
    });
    onChange();
  }

  get running(): boolean {
    return this.child !== undefined && this.exitStatus === undefined;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  killSync(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }

  tail(lines = 25): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

class ComponentExitedError extends Error {
  constructor(readonly component: Component) {
    super(`${component.name} ${component.exitStatus}; last log lines (${component.logPath}):\n${component.tail()}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', fail);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => done(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined/false, failing fast when a watched process dies. */
async function waitFor<T>(what: string, timeoutMs: number, watch: Component[], probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    for (const c of watch) if (c.exitStatus !== undefined) throw new ComponentExitedError(c);
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const logs = watch.map((c) => `--- ${c.name} (${c.logPath}):\n${c.tail(15)}`).join('\n');
      const why = last instanceof Error ? last.message : last !== undefined ? String(last) : 'not ready';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${why})\n${logs}`);
    }
    await sleep(delay);
  }
}

function httpRequest(url: string, method = 'GET', body?: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = http.request(url, { method, timeout: timeoutMs, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end(body);
  });
}

const isPortClash = (err: unknown) => err instanceof ComponentExitedError && /address already in use/i.test(err.component.tail(60));

/**
 * A shell watchdog outliving this process: if this process dies without stop() (SIGKILL,
 * jest worker killed on timeout…), it kills the pids listed in `dir`/pids and removes `dir`.
 * It exits by itself once `dir` is gone.
 */
function startReaper(dir: string): void {
  const script =
    'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done; ' +
    '[ -f "$2/pids" ] && kill -9 $(cat "$2/pids") 2>/dev/null; rm -rf "$2"';
  const child = spawn('/bin/sh', ['-c', script, 'kube-cp-reaper', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

// ---------------------------------------------------------------------------------------
// the control plane

class ControlPlaneImpl implements ControlPlane {
  readonly tier: Tier;
  readonly logs: Record<string, string> = {};
  readonly timings: Timings = { pki: 0, etcd: 0, apiserver: 0, total: 0 };
  nodes: string[] = [];
  server = '';
  kubeconfigPath = '';
  pki!: Pki;
  private access?: ClusterAccess;
  private readonly components = new Map<string, Component>();
  private stopped = false;
  private etcdUrl = '';
  private apiserverPort = 0;
  private readonly say: (m: string) => void;

  constructor(
    readonly dir: string,
    private readonly bins: Binaries,
    private readonly opts: ControlPlaneOptions,
  ) {
    this.tier = opts.tier ?? 'api';
    this.say = opts.log ?? (() => {});
    for (const sub of ['pki', 'logs', 'etcd', 'kubeconfigs']) mkdirSync(join(dir, sub), { recursive: true });
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 120_000;
  }

  private writePids = (): void => {
    if (this.stopped) return;
    const pids = [...this.components.values()].map((c) => c.pid).filter((p) => p !== undefined);
    try {
      writeFileSync(join(this.dir, 'pids'), pids.join(' ') + '\n');
    } catch {
      // dir already removed
    }
  };

  private launch(name: string, argv: string[], env?: NodeJS.ProcessEnv): Component {
    const logPath = join(this.dir, 'logs', `${name}.log`);
    this.logs[name] = logPath;
    const c = new Component(name, argv, logPath, env);
    this.components.set(name, c);
    c.start(this.writePids);
    return c;
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    let t = t0;
    const lap = () => {
      const now = Date.now();
      const d = now - t;
      t = now;
      return d;
    };
    this.pki = await createPki(join(this.dir, 'pki'));
    this.timings.pki = lap();
    await this.retryOnPortClash(() => this.startEtcd());
    this.timings.etcd = lap();
    this.say(`etcd ready at ${this.etcdUrl} (${this.timings.etcd} ms)`);
    await this.retryOnPortClash(async () => {
      this.apiserverPort = await freePort();
      await this.startApiServer();
    });
    this.timings.apiserver = lap();
    this.say(`kube-apiserver ready at ${this.server} (${this.timings.apiserver} ms)`);
    if (this.tier === 'workload') {
      await this.startWorkload();
      this.timings.workload = lap();
      this.say(`workload tier ready: nodes ${this.nodes.join(', ')} (${this.timings.workload} ms)`);
    }
    this.timings.total = Date.now() - t0;
  }

  private async retryOnPortClash(step: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (attempt >= 3 || !isPortClash(err)) throw err;
        this.say(`port clash, retrying: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  private async startEtcd(): Promise<void> {
    const [client, peer] = [await freePort(), await freePort()];
    this.etcdUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const dataDir = join(this.dir, 'etcd');
    rmSync(dataDir, { recursive: true, force: true });
    // A name unique to this control plane: the readiness probe checks it, so that an etcd
    // of another control plane that won a race for the same port is never taken for ours.
    const name = basename(this.dir);
    const etcd = this.launch('etcd', [
      ...this.bins.etcd,
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${this.etcdUrl}`,
      `--advertise-client-urls=${this.etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${name}=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor('etcd', this.timeoutMs, [etcd], async () => {
      const health = await httpRequest(`${this.etcdUrl}/health`);
      if (health.status !== 200 || !/"health":\s*"true"/.test(health.body)) return false;
      const members = await httpRequest(`${this.etcdUrl}/v3/cluster/member/list`, 'POST', '{}');
      return members.status === 200 && members.body.includes(`"${name}"`);
    });
  }

  private async startApiServer(): Promise<void> {
    const pki = this.pki;
    this.server = `https://127.0.0.1:${this.apiserverPort}`;
    const apiserver = this.launch('kube-apiserver', [
      ...this.bins.apiserver,
      `--etcd-servers=${this.etcdUrl}`,
      `--secure-port=${this.apiserverPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--cert-dir=${join(this.dir, 'pki')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--authorization-mode=RBAC',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--allow-privileged=true',
      '--profiling=false',
      ...(this.opts.apiserverArgs ?? []),
    ]);
    if (!this.access) {
      this.kubeconfigPath = join(this.dir, 'kubeconfigs', 'admin.yaml');
      await writeKubeconfig(
        this.kubeconfigPath,
        kubeconfigDocument(this.server, pki.caCert, 'kubernetes-admin', certUser(pki.adminCert, pki.adminKey)),
      );
      this.access = new ClusterAccess(this.server, pki, this.kubeconfigPath, this.dir);
    }
    const access = this.access;
    await waitFor('kube-apiserver /readyz', this.timeoutMs, [apiserver], async () => {
      const res = await access.get('/readyz', 5000);
      return res.status === 200;
    });
  }

  async restartApiServer(): Promise<void> {
    if (this.stopped) throw new Error('control plane is stopped');
    await this.components.get('kube-apiserver')?.stop('SIGTERM', 30_000);
    this.writePids();
    await this.retryOnPortClash(() => this.startApiServer());
  }

  private async componentKubeconfig(name: string, user: string, groups: string[]): Promise<string> {
    const { cert, key } = await clientCert(this.pki, user, groups);
    const path = join(this.dir, 'kubeconfigs', `${name}.yaml`);
    await writeKubeconfig(path, kubeconfigDocument(this.server, this.pki.caCert, user, certUser(cert, key)));
    return path;
  }

  private async startWorkload(): Promise<void> {
    const pki = this.pki;
    const [kcmConfig, schedConfig, kwokConfig] = await Promise.all([
      // use-service-account-credentials=false: all controllers act as this one identity.
      this.componentKubeconfig('kube-controller-manager', 'system:kube-controller-manager', ['system:masters']),
      this.componentKubeconfig('kube-scheduler', 'system:kube-scheduler', []),
      this.componentKubeconfig('kwok', 'kwok', ['system:masters']),
    ]);
    const kcm = this.launch('kube-controller-manager', [
      ...this.bins.controllerManager,
      `--kubeconfig=${kcmConfig}`,
      `--controllers=${(this.opts.controllers ?? DEFAULT_CONTROLLERS).join(',')}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--root-ca-file=${pki.caCert}`,
      `--service-account-private-key-file=${pki.saKey}`,
      '--use-service-account-credentials=false',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--concurrent-gc-syncs=5',
      '--profiling=false',
      ...(this.opts.controllerManagerArgs ?? []),
    ]);
    const scheduler = this.launch('kube-scheduler', [
      ...this.bins.scheduler,
      `--kubeconfig=${schedConfig}`,
      `--authentication-kubeconfig=${schedConfig}`,
      `--authorization-kubeconfig=${schedConfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      '--profiling=false',
      ...(this.opts.schedulerArgs ?? []),
    ]);
    // HOME is the control plane's directory so that no ~/.kwok/kwok.yaml of the user leaks in.
    const kwokHome = join(this.dir, 'kwok-home');
    mkdirSync(kwokHome, { recursive: true });
    const kwok = this.launch(
      'kwok',
      [
        ...this.bins.kwok,
        `--kubeconfig=${kwokConfig}`,
        `--config=${this.bins.kwokStages}`,
        '--manage-all-nodes=true',
        // Heartbeat through Leases in kube-node-lease, as kubelets do. Without it the
        // node-heartbeat-with-lease stage renews Node status only every ~10-20 minutes, the
        // node-lifecycle controller marks the nodes NotReady after its 50 s grace period, and
        // every pod on them turns unready.
        '--node-lease-duration-seconds=40',
        '--server-address=',
        '--node-ip=127.0.0.1',
        '--cidr=10.244.0.1/16',
      ],
      { ...process.env, HOME: kwokHome },
    );
    const watch = [this.components.get('etcd')!, this.components.get('kube-apiserver')!, kcm, scheduler, kwok];

    const core = this.kubeConfig().makeApiClient(k8s.CoreV1Api);
    const count = this.opts.nodes ?? 1;
    this.nodes = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
    await Promise.all(this.nodes.map((name) => core.createNode({ body: kwokNode(name) })));
    const controllers = this.opts.controllers ?? DEFAULT_CONTROLLERS;
    const lifecycle = controllers.some((c) => c === 'node-lifecycle-controller' || c === 'nodelifecycle' || c === '*');
    await waitFor(`${count} kwok node(s) Ready and untainted`, this.timeoutMs, watch, async () => {
      const list = await core.listNode();
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (!lifecycle) {
        // Nobody else lifts the not-ready taint that admission put on the new Nodes.
        for (const n of ready.filter((n) => n.spec?.taints?.length)) {
          await core.replaceNode({ name: n.metadata!.name!, body: { ...n, spec: { ...n.spec, taints: [] } } });
        }
      }
      return ready.length >= count && ready.every((n) => !n.spec?.taints?.length);
    });
    // The serviceaccount controller runs once it creates default/default; pods need that SA.
    await waitFor('kube-controller-manager (ServiceAccount default/default)', this.timeoutMs, watch, async () => {
      await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
      return true;
    });
  }

  kubeConfig(): k8s.KubeConfig {
    return this.requireAccess().kubeConfig();
  }

  userKubeconfig(user: string, groups: readonly string[] = [], namespace?: string): Promise<ClientKubeconfig> {
    return this.requireAccess().userKubeconfig(user, groups, namespace);
  }

  serviceAccountKubeconfig(namespace: string, name: string, opts?: ServiceAccountTokenOptions): Promise<ClientKubeconfig> {
    return this.requireAccess().serviceAccountKubeconfig(namespace, name, opts);
  }

  apiserverMetrics(): Promise<string> {
    return this.requireAccess().apiserverMetrics();
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return this.requireAccess().get(path);
  }

  private requireAccess(): ClusterAccess {
    if (!this.access) throw new Error('control plane not started');
    return this.access;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    // Dependents first, so that nothing logs storms of connection errors; SIGKILL is fine
    // for throwaway state (etcd runs with --unsafe-no-fsync anyway).
    const order = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
    for (const name of order) await this.components.get(name)?.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  killSync(): void {
    this.stopped = true;
    for (const c of this.components.values()) c.killSync();
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }

  register(): void {
    installExitHooks();
    live.add(this);
    startReaper(this.dir);
  }
}

function kwokNode(name: string): k8s.V1Node {
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: {},
    status: { allocatable: resources, capacity: resources },
  };
}

/**
 * Starts a control plane on free loopback ports in a fresh temporary directory.
 * Always stop() it (afterAll); it is also killed when this process exits or is signalled,
 * and a watchdog kills it if this process is SIGKILLed.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const tier = opts.tier ?? 'api';
  const bins = findBinaries(tier);
  const base = opts.baseDir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = await mkdtemp(join(base, `kube-cp-${tier}-`));
  const cp = new ControlPlaneImpl(dir, bins, { ...opts, tier });
  cp.register();
  try {
    await cp.start();
  } catch (err) {
    await cp.stop();
    throw err;
  }
  return cp;
}
