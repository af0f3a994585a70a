// A real Kubernetes control plane for tests, the benchmark and `npm run cluster:up`:
// etcd + kube-apiserver (tier 'api'), plus kube-controller-manager, kube-scheduler and
// kwok-managed fake nodes (tier 'workload', workload.ts), plus one real node with kubelet,
// containerd, CNI, kube-proxy and CoreDNS (tier 'node', node.ts; root only). Binaries:
// binaries.ts; processes: processes.ts; credentials: pki.ts and access.ts. See
// docs/test-cluster.md.
import type * as k8s from '@kubernetes/client-node';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  ClusterAccess,
  certUser,
  kubeconfigDocument,
  writeKubeconfig,
  type ClientKubeconfig,
  type ServiceAccountTokenOptions,
} from './access';
import { findBinaries, type Binaries, type Tier } from './binaries';
import { NODE_COMPONENTS, NODE_IP, prepareNodeHost, startNode, type NodeHost, type RealNode } from './node';
import { clientCert, createPki, type Pki } from './pki';
import {
  Component,
  failIfExited,
  forget,
  freePort,
  httpRequest,
  isPortClash,
  killOnExit,
  logTails,
  startReaper,
} from './processes';
import { stopwatch, waitFor } from './wait';
import { startStorageProvisioner, type StorageProvisioner } from './storage-provisioner';
import { SERVICE_CIDR, startWorkload, type WorkloadOptions } from './workload';

export type { ClientKubeconfig, ServiceAccountTokenOptions } from './access';
export { binDir, findBinaries, MissingBinariesError, repoRoot, type Binaries, type Tier } from './binaries';
export type { Pki } from './pki';
export { DEFAULT_CONTROLLERS } from './workload';
export {
  CLUSTER_DNS_IP,
  loadImage,
  NODE_IP,
  NODE_LOCK,
  NODE_NAME,
  NodeHostError,
  PAUSE_IMAGE,
  POD_CIDR,
  PROBE_IMAGE,
  type NodeTimings,
  type RealNode,
} from './node';

/** nodes, controllers, controllerManagerArgs and schedulerArgs apply to the workload tier only. */
export interface ControlPlaneOptions extends WorkloadOptions {
  /**
   * 'api': etcd + kube-apiserver. 'workload': also controller-manager, scheduler, kwok and
   * nodes. 'node': the workload tier (no kwok Nodes unless `nodes` says so) plus one real node
   * (`cp.node`); needs root and scripts/node-build.sh; one per machine. Default 'api'.
   */
  tier?: Tier;
  /** node tier: how long to wait for another node tier on this machine to stop (default 15 min) */
  nodeLockWaitMs?: number;
  /**
   * node tier: called once this tier holds the machine-wide lock, before it changes anything
   * on the machine (a test takes its own snapshot of the machine there)
   */
  onNodeLock?: () => void;
  /** extra kube-apiserver flags, e.g. ['--feature-gates=…'] */
  apiserverArgs?: readonly string[];
  /** how long each start step may take (default 120 s; the first start on a busy 2-core box is the slow one) */
  timeoutMs?: number;
  /** parent of the control plane's temporary directory (default os.tmpdir()) */
  baseDir?: string;
  /** progress messages (default: none) */
  log?: (message: string) => void;
  /**
   * Workload tier only: a default StorageClass `standard` and a hostPath volume for each of its
   * claims (storage-provisioner.ts, like kind's local-path), under `<dir>/volumes` unless
   * `root` is given. Default off: without it claims stay Pending unless a test makes volumes.
   */
  storage?: boolean | { root?: string };
}

/** Milliseconds spent in each start step. */
export interface Timings {
  pki: number;
  etcd: number;
  apiserver: number;
  workload?: number;
  /** node tier: containerd, images, CoreDNS, kube-proxy and kubelet until the Node is Ready */
  node?: number;
  total: number;
}

export interface ControlPlane {
  readonly tier: Tier;
  /** temporary directory: pki/, logs/, etcd/, kubeconfigs/ (removed by stop()) */
  readonly dir: string;
  /** https://127.0.0.1:<port> (node tier: https://<node IP>:<port>, reachable from pods too) */
  readonly server: string;
  /** admin kubeconfig (user kubernetes-admin in system:masters) */
  readonly kubeconfigPath: string;
  readonly pki: Pki;
  /** names of the kwok Nodes (workload and node tiers) */
  readonly nodes: readonly string[];
  /** the real node (node tier only) */
  readonly node?: RealNode;
  readonly timings: Timings;
  /** log file of each component */
  readonly logs: Readonly<Record<string, string>>;
  /** the storage provisioner (option `storage`), if it runs */
  readonly storage?: StorageProvisioner;
  /** a fresh admin KubeConfig */
  kubeConfig(): k8s.KubeConfig;
  /** client-certificate kubeconfig for `user` in `groups` */
  userKubeconfig(user: string, groups?: readonly string[], namespace?: string): Promise<ClientKubeconfig>;
  /** bound-token kubeconfig for a ServiceAccount (created if missing) */
  serviceAccountKubeconfig(
    namespace: string,
    name: string,
    opts?: ServiceAccountTokenOptions,
  ): Promise<ClientKubeconfig>;
  /** GET /metrics of kube-apiserver as admin */
  apiserverMetrics(): Promise<string>;
  /** GET any apiserver path as admin */
  get(path: string): Promise<{ status: number; body: string }>;
  /** stop kube-apiserver (SIGTERM) and start it again on the same port and etcd; resolves when /readyz is ok */
  restartApiServer(): Promise<void>;
  /** kill every process and remove the directory; safe to call twice */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// the control plane

class ControlPlaneImpl implements ControlPlane {
  readonly tier: Tier;
  readonly logs: Record<string, string> = {};
  readonly timings: Timings = { pki: 0, etcd: 0, apiserver: 0, total: 0 };
  nodes: string[] = [];
  node?: RealNode;
  private nodeHost?: NodeHost;
  storage?: StorageProvisioner;
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

  /** Polls from 50 ms up to every 500 ms; fails at once when one of `watch` exits, with their logs on timeout. */
  private waitOptions(watch: Component[]) {
    return {
      timeoutMs: this.timeoutMs,
      intervalMs: 50,
      maxIntervalMs: 500,
      check: failIfExited(watch),
      details: logTails(watch),
    };
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
    const { lap, total } = stopwatch();
    if (this.tier === 'node') {
      // before the apiserver: it binds to the node's address on the bridge made here
      this.nodeHost = await prepareNodeHost(this.dir, this.say, this.opts.nodeLockWaitMs, this.opts.onNodeLock);
      lap();
    }
    this.pki = await createPki(join(this.dir, 'pki'), { apiserverIps: this.tier === 'node' ? [NODE_IP] : [] });
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
    if (this.tier === 'workload' || this.tier === 'node') {
      await this.startWorkload();
      this.timings.workload = lap();
      this.say(`workload tier ready: nodes ${this.nodes.join(', ')} (${this.timings.workload} ms)`);
      if (this.opts.storage) {
        const root = (typeof this.opts.storage === 'object' && this.opts.storage.root) || join(this.dir, 'volumes');
        this.storage = await startStorageProvisioner(this.kubeConfig(), { root, log: this.say });
        this.say(`default StorageClass ${this.storage.className}: hostPath volumes under ${root}`);
      }
    }
    if (this.tier === 'node') {
      this.node = await startNode({
        dir: this.dir,
        pki: this.pki,
        bins: this.bins,
        timeoutMs: this.timeoutMs,
        serviceCidr: SERVICE_CIDR,
        running: () => [...this.components.values()].filter((c) => !NODE_COMPONENTS.includes(c.name as never)),
        launch: (name, argv, env) => this.launch(name, argv, env),
        componentKubeconfig: (name, user, groups) => this.componentKubeconfig(name, user, groups),
        kubeConfig: () => this.kubeConfig(),
        say: this.say,
      });
      this.timings.node = lap();
    }
    this.timings.total = total();
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
    await waitFor(
      'etcd',
      async () => {
        const health = await httpRequest(`${this.etcdUrl}/health`);
        if (health.status !== 200 || !/"health":\s*"true"/.test(health.body)) return false;
        const members = await httpRequest(`${this.etcdUrl}/v3/cluster/member/list`, 'POST', '{}');
        return members.status === 200 && members.body.includes(`"${name}"`);
      },
      this.waitOptions([etcd]),
    );
  }

  /** The node tier's apiserver flags: on the node's address, Node authorizer, kubelet client cert. */
  private async nodeApiserverArgs(): Promise<string[]> {
    if (this.tier !== 'node')
      return ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', '--authorization-mode=RBAC'];
    const kubeletClient = await clientCert(this.pki, 'kube-apiserver-kubelet-client', ['system:masters']);
    return [
      `--bind-address=${NODE_IP}`,
      `--advertise-address=${NODE_IP}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      `--kubelet-certificate-authority=${this.pki.caCert}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
    ];
  }

  private async startApiServer(): Promise<void> {
    const pki = this.pki;
    const host = this.tier === 'node' ? NODE_IP : '127.0.0.1';
    this.server = `https://${host}:${this.apiserverPort}`;
    const tierArgs = await this.nodeApiserverArgs();
    const apiserver = this.launch('kube-apiserver', [
      ...this.bins.apiserver,
      `--etcd-servers=${this.etcdUrl}`,
      `--secure-port=${this.apiserverPort}`,
      ...tierArgs,
      `--cert-dir=${join(this.dir, 'pki')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
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
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        const res = await access.get('/readyz', 5000);
        return res.status === 200;
      },
      this.waitOptions([apiserver]),
    );
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
    const opts = this.tier === 'node' ? { ...this.opts, nodes: this.opts.nodes ?? 0 } : this.opts;
    this.nodes = await startWorkload(
      {
        dir: this.dir,
        pki: this.pki,
        bins: this.bins,
        timeoutMs: this.timeoutMs,
        running: [this.components.get('etcd')!, this.components.get('kube-apiserver')!],
        launch: (name, argv, env) => this.launch(name, argv, env),
        componentKubeconfig: (name, user, groups) => this.componentKubeconfig(name, user, groups),
        kubeConfig: () => this.kubeConfig(),
      },
      opts,
    );
  }

  kubeConfig(): k8s.KubeConfig {
    return this.requireAccess().kubeConfig();
  }

  userKubeconfig(user: string, groups: readonly string[] = [], namespace?: string): Promise<ClientKubeconfig> {
    return this.requireAccess().userKubeconfig(user, groups, namespace);
  }

  serviceAccountKubeconfig(
    namespace: string,
    name: string,
    opts?: ServiceAccountTokenOptions,
  ): Promise<ClientKubeconfig> {
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
    forget(this);
    await this.storage?.stop().catch(() => undefined);
    // Dependents first, so that nothing logs storms of connection errors; SIGKILL is fine
    // for throwaway state (etcd runs with --unsafe-no-fsync anyway). The node's processes
    // go first; then the machine is put back (pods' processes, mounts, iptables, sysctls…).
    for (const name of NODE_COMPONENTS) await this.components.get(name)?.stop('SIGKILL');
    const problems = this.nodeHost?.cleanup() ?? [];
    const order = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
    for (const name of order) await this.components.get(name)?.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    if (problems.length) throw new Error(`node tier: the machine is not fully restored:\n  ${problems.join('\n  ')}`);
  }

  killSync(): void {
    this.stopped = true;
    for (const c of this.components.values()) c.killSync();
    try {
      this.nodeHost?.cleanup();
    } catch {
      // best effort at exit
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }

  register(): void {
    killOnExit(this);
    startReaper(this.dir);
  }
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
