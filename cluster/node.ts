// The node tier's real node: containerd (Debian's, with runc and the bridge CNI), kubelet,
// kube-proxy (iptables) and CoreDNS as cluster DNS, all as processes of the control plane
// (controlplane.ts). prepareNodeHost() runs before the apiserver (host checks, the machine-wide
// lock, a snapshot of what will change, the bridge the apiserver binds to); startNode() after
// the workload tier; cleanupNodeHost() puts the machine back. Config rendering: node-config.ts;
// host state: node-host.ts. See docs/test-cluster.md, "The node tier".
import * as k8s from '@kubernetes/client-node';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Binaries } from './binaries';
import {
  BRIDGE,
  CLUSTER_DNS_IP,
  NODE_IP,
  NODE_NAME,
  PAUSE_IMAGE,
  POD_CIDR,
  PROBE_IMAGE,
  cniConfList,
  containerdConfig,
  corefile,
  kubeDnsObjects,
  kubeProxyConfig,
  kubeletConfig,
  nodePaths,
  type NodePaths,
} from './node-config';
import {
  checkHost,
  CNI_CACHE,
  cniCacheFiles,
  createBridge,
  deleteBridge,
  iptablesSnapshot,
  killCgroupProcesses,
  killQuietly,
  NodeHostError,
  pidsMentioning,
  readSysctls,
  removeCgroups,
  removeCniCache,
  restoreIptables,
  restoreSysctls,
  unmountUnder,
  type IptablesSnapshot,
} from './node-host';
import type { Pki } from './pki';
import { servingCert } from './pki';
import { failIfExited, freePort, httpRequest, logTails, type Component } from './processes';
import { stopwatch, waitFor } from './wait';

export { NODE_IP, NODE_NAME, PAUSE_IMAGE, POD_CIDR, PROBE_IMAGE, CLUSTER_DNS_IP } from './node-config';
export { NodeHostError } from './node-host';

const execFileP = promisify(execFile);

/** The machine-wide lock and record of what the tier changed (one node tier per machine). */
export const NODE_LOCK = '/run/kube-tutorial-stack/node-tier.json';
/** The cgroup kubelet puts pods under (cgroupfs driver, cgroupsPerQOS). */
const KUBEPODS = 'kubepods';

/** What the host looked like before the tier started; saved in NODE_LOCK. */
interface HostRecord {
  pid: number;
  dir: string;
  nodeRoot: string;
  sysctls: Record<string, string>;
  iptables: IptablesSnapshot;
  existed: { runContainerd: boolean; kubepods: boolean; cniCache: boolean };
  /** libcni's cached results before start */
  cniCacheFiles: string[];
}

export interface NodeTimings {
  containerd: number;
  images: number;
  coredns: number;
  kubeProxy: number;
  /** kubelet start to Node Ready and untainted */
  nodeReady: number;
  total: number;
}

/** The real node of a node-tier control plane (`cp.node`). */
export interface RealNode {
  /** the Node's name ('real-node') */
  readonly name: string;
  /** the node's address (on the tier's bridge): InternalIP, apiserver, kubelet, CoreDNS */
  readonly ip: string;
  readonly podCidr: string;
  /** ClusterIP of kube-system/kube-dns (CoreDNS) */
  readonly clusterDnsIp: string;
  /** containerd's socket (ctr --address …, namespace k8s.io) */
  readonly containerdAddress: string;
  /** the probe test image, already loaded (tools/pause/probe/main.go) */
  readonly probeImage: string;
  readonly pauseImage: string;
  readonly timings: NodeTimings;
  /**
   * Imports an OCI (or docker) image archive into the node's containerd, where pods find it
   * with imagePullPolicy IfNotPresent or Never; resolves with the image references imported.
   */
  loadImage(archivePath: string): Promise<string[]>;
  /** references of the images the node has */
  images(): Promise<string[]>;
}

/** What the node needs from the control plane that runs it. */
export interface NodeContext {
  dir: string;
  pki: Pki;
  bins: Binaries;
  timeoutMs: number;
  serviceCidr: string;
  /** the control plane's processes: a wait fails at once when one of them dies */
  running: () => Component[];
  launch(name: string, argv: string[], env?: NodeJS.ProcessEnv): Component;
  componentKubeconfig(name: string, user: string, groups: string[]): Promise<string>;
  kubeConfig(): k8s.KubeConfig;
  say(message: string): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readRecord(): HostRecord | undefined {
  try {
    return JSON.parse(readFileSync(NODE_LOCK, 'utf8')) as HostRecord;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Before the apiserver starts: checks the machine, takes the machine-wide lock (waiting up to
 * `lockWaitMs` for another node tier to stop; cleaning up after one whose owner died), records
 * what the tier will change, and creates the bridge with the node's address.
 */
export async function prepareNodeHost(
  dir: string,
  say: (m: string) => void,
  lockWaitMs = 15 * 60_000,
  onLocked?: () => void,
): Promise<NodeHost> {
  checkHost();
  mkdirSync(dirname(NODE_LOCK), { recursive: true });
  const deadline = Date.now() + lockWaitMs;
  let waitingSaid = false;
  for (;;) {
    try {
      writeFileSync(NODE_LOCK, JSON.stringify({ pid: process.pid, dir }), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const other = readRecord();
    if (other && other.pid === process.pid && existsSync(other.dir))
      throw new NodeHostError(`this process already runs a node tier (${other.dir}); one per machine: stop() it first`);
    if (other && other.pid !== process.pid && isAlive(other.pid)) {
      if (Date.now() > deadline)
        throw new NodeHostError(
          `another node tier is running (pid ${other.pid}, ${other.dir}); one per machine (its bridge, ` +
            `iptables chains and kubelet are machine-wide). Waited ${Math.round(lockWaitMs / 1000)} s.`,
        );
      if (!waitingSaid) say(`waiting for the node tier of pid ${other.pid} to stop (one per machine)`);
      waitingSaid = true;
      await sleep(1000);
      continue;
    }
    if (other?.nodeRoot) {
      say(`cleaning up after a node tier whose owner (pid ${other.pid}) died: ${other.dir}`);
      const left = cleanupHost(other);
      if (left.length) say(`stale node tier: ${left.join('; ')}`);
      rmSync(other.dir, { recursive: true, force: true });
    }
    rmSync(NODE_LOCK, { force: true });
  }
  onLocked?.();
  const host = new NodeHost({
    pid: process.pid,
    dir,
    nodeRoot: join(dir, 'node'),
    sysctls: readSysctls(),
    iptables: iptablesSnapshot(),
    existed: {
      runContainerd: existsSync('/run/containerd'),
      kubepods: existsSync(`/sys/fs/cgroup/memory/${KUBEPODS}`) || existsSync(`/sys/fs/cgroup/${KUBEPODS}`),
      cniCache: existsSync(CNI_CACHE),
    },
    cniCacheFiles: cniCacheFiles(),
  });
  writeFileSync(NODE_LOCK, JSON.stringify(host.record));
  try {
    // Service traffic between two pods on the bridge must pass iptables (kube-proxy's DNAT and
    // its reverse): the kernel's default, set here in case something turned it off; restored at stop.
    for (const key of ['net/bridge/bridge-nf-call-iptables', 'net/bridge/bridge-nf-call-ip6tables'])
      writeFileSync(`/proc/sys/${key}`, '1');
    createBridge(NODE_IP, Number(POD_CIDR.split('/')[1]));
  } catch (err) {
    host.cleanup();
    throw err;
  }
  return host;
}

/**
 * Puts the machine back as `record` says it was: kills pods' processes, shims and anything
 * else of the tier, unmounts under its directory, removes the kubepods cgroups, the bridge,
 * CNI cache entries, containerd's /run dir (if new), its iptables chains and rules, and
 * writes back changed sysctls. Returns what could not be undone.
 */
function cleanupHost(record: HostRecord): string[] {
  const problems: string[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const pids = pidsMentioning(record.nodeRoot);
    const inPods = killCgroupProcesses(KUBEPODS);
    for (const pid of pids) killQuietly(pid);
    if (!pids.length && !inPods) break;
    spawnSync('sleep', ['0.2']);
  }
  const mounted = unmountUnder([record.nodeRoot]);
  if (mounted.length) problems.push(`still mounted: ${mounted.join(', ')}`);
  if (!record.existed.kubepods) {
    const left = removeCgroups(KUBEPODS);
    if (left.length) problems.push(`cgroups left: ${left.slice(0, 5).join(', ')}`);
  }
  deleteBridge();
  removeCniCache(record.cniCacheFiles ?? [], record.existed.cniCache ?? true);
  if (!record.existed.runContainerd) rmSync('/run/containerd', { recursive: true, force: true });
  problems.push(...restoreIptables(record.iptables));
  restoreSysctls(record.sysctls);
  const still = Object.entries(readSysctls(Object.keys(record.sysctls))).filter(([k, v]) => record.sysctls[k] !== v);
  if (still.length) problems.push(`sysctls not restored: ${still.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  return problems;
}

/** The host side of a running node tier: the record of what it changed, and the cleanup. */
export class NodeHost {
  private cleaned = false;
  constructor(readonly record: HostRecord) {}

  /** Undoes the tier's changes to the machine and releases the lock; safe to call twice. */
  cleanup(): string[] {
    if (this.cleaned) return [];
    this.cleaned = true;
    const problems = cleanupHost(this.record);
    const lock = readRecord();
    if (lock?.pid === process.pid && lock.dir === this.record.dir) {
      try {
        unlinkSync(NODE_LOCK);
      } catch {
        // gone already
      }
    }
    return problems;
  }
}

async function ctr(address: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('ctr', ['--address', address, '--namespace', 'k8s.io', ...args], {
      maxBuffer: 16 << 20,
      timeout: 300_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ctr ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/**
 * Imports an OCI (or docker) image archive into the containerd at `containerdAddress` (a node
 * tier's `cp.node.containerdAddress`), unpacked for the CRI; resolves with the references
 * imported. Usable from a process that does not own the control plane.
 */
export async function loadImage(containerdAddress: string, archivePath: string): Promise<string[]> {
  if (!existsSync(archivePath)) throw new Error(`image archive not found: ${archivePath}`);
  const out = await ctr(containerdAddress, ['images', 'import', archivePath]);
  const refs = [...out.matchAll(/unpacking (\S+) \(/g)].map((m) => m[1]);
  if (!refs.length) throw new Error(`ctr imported no named image from ${archivePath}:\n${out}`);
  return refs;
}

class RealNodeImpl implements RealNode {
  readonly name = NODE_NAME;
  readonly ip = NODE_IP;
  readonly podCidr = POD_CIDR;
  readonly clusterDnsIp = CLUSTER_DNS_IP;
  readonly probeImage = PROBE_IMAGE;
  readonly pauseImage = PAUSE_IMAGE;
  readonly timings: NodeTimings = { containerd: 0, images: 0, coredns: 0, kubeProxy: 0, nodeReady: 0, total: 0 };
  readonly containerdAddress: string;

  constructor(readonly paths: NodePaths) {
    this.containerdAddress = paths.containerdSocket;
  }

  loadImage(archivePath: string): Promise<string[]> {
    return loadImage(this.containerdAddress, archivePath);
  }

  async images(): Promise<string[]> {
    const out = await ctr(this.containerdAddress, ['images', 'list', '--quiet']);
    return out.split('\n').filter((l) => l && !l.startsWith('sha256:'));
  }
}

/** After the workload tier: containerd, the images, CoreDNS, kube-proxy, kubelet; resolves when the Node is Ready. */
export async function startNode(ctx: NodeContext): Promise<RealNode> {
  const { lap, total } = stopwatch();
  const paths = nodePaths(join(ctx.dir, 'node'));
  for (const d of [dirname(paths.containerdConfig), paths.cniConfDir, paths.cniIpamDir, paths.kubeletRoot])
    mkdirSync(d, { recursive: true });
  const node = new RealNodeImpl(paths);
  const started: Component[] = [];
  const waitOpts = () => {
    const watch = [...ctx.running(), ...started];
    return {
      timeoutMs: ctx.timeoutMs,
      intervalMs: 50,
      maxIntervalMs: 500,
      check: failIfExited(watch),
      details: logTails(watch),
    };
  };

  // containerd
  writeFileSync(paths.containerdConfig, containerdConfig(paths));
  writeFileSync(join(paths.cniConfDir, '10-kts-node.conflist'), cniConfList(paths, ctx.serviceCidr));
  // Containers inherit containerd's open-file limit (CRI sets none of its own): raise it to the
  // hard limit, as containerd's systemd unit does, so a pod that needs many descriptors (HAProxy
  // with `maxconn 4096` asks for 8225) does not depend on the shell the tests started from.
  const nofile = hardOpenFileLimit();
  const limit = nofile ? ['prlimit', `--nofile=${nofile}:${nofile}`, '--'] : [];
  started.push(ctx.launch('containerd', [...limit, 'containerd', '--config', paths.containerdConfig]));
  await waitFor(
    'containerd',
    async () => {
      await execFileP('ctr', ['--address', paths.containerdSocket, 'version'], { timeout: 5000 });
      return true;
    },
    waitOpts(),
  );
  node.timings.containerd = lap();
  ctx.say(`containerd ready (${node.timings.containerd} ms)`);
  await Promise.all([ctx.bins.images.pause, ctx.bins.images.probe].map((a) => node.loadImage(a)));
  node.timings.images = lap();
  ctx.say(`pause and probe images loaded (${node.timings.images} ms)`);

  // credentials and configs
  const [kubeletKc, proxyKc, dnsKc, serving] = await Promise.all([
    ctx.componentKubeconfig('kubelet', `system:node:${NODE_NAME}`, ['system:nodes']),
    ctx.componentKubeconfig('kube-proxy', 'system:kube-proxy', []),
    // CoreDNS reads Services, EndpointSlices, Namespaces (and Pods for `pods verified`)
    ctx.componentKubeconfig('coredns', 'system:coredns', ['system:masters']),
    servingCert(ctx.pki, 'kubelet-serving', NODE_NAME, [NODE_IP], [NODE_NAME]),
  ]);
  const [kubeletPort, kubeletHealthz, proxyHealthz, proxyMetrics, dnsHealth, dnsReady] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );

  // CoreDNS behind the kube-dns Service
  const { service, endpointSlice } = kubeDnsObjects();
  const kc = ctx.kubeConfig();
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedService({ namespace: 'kube-system', body: service as k8s.V1Service });
  await kc
    .makeApiClient(k8s.DiscoveryV1Api)
    .createNamespacedEndpointSlice({ namespace: 'kube-system', body: endpointSlice as k8s.V1EndpointSlice });
  writeFileSync(paths.corefile, corefile({ kubeconfig: dnsKc, healthPort: dnsHealth, readyPort: dnsReady }));
  const dns = ctx.launch('coredns', [ctx.bins.coredns, '-conf', paths.corefile]);
  started.push(dns);

  // kube-proxy
  writeFileSync(
    paths.kubeProxyConfig,
    kubeProxyConfig({
      kubeconfig: proxyKc,
      healthzPort: proxyHealthz,
      metricsPort: proxyMetrics,
      serviceCidr: ctx.serviceCidr,
    }),
  );
  started.push(ctx.launch('kube-proxy', [...ctx.bins.kubeProxy, `--config=${paths.kubeProxyConfig}`]));

  await waitFor(
    'CoreDNS ready (kubernetes plugin synced)',
    async () => (await httpRequest(`http://127.0.0.1:${dnsReady}/ready`)).status === 200,
    waitOpts(),
  );
  node.timings.coredns = lap();
  ctx.say(`CoreDNS ready on ${NODE_IP}:53 (${node.timings.coredns} ms)`);

  // kubelet
  writeFileSync(
    paths.kubeletConfig,
    kubeletConfig({
      paths,
      caCert: ctx.pki.caCert,
      servingCert: serving.cert,
      servingKey: serving.key,
      port: kubeletPort,
      healthzPort: kubeletHealthz,
    }),
  );
  const kubeletStart = Date.now();
  started.push(
    ctx.launch('kubelet', [
      ...ctx.bins.kubelet,
      `--config=${paths.kubeletConfig}`,
      `--kubeconfig=${kubeletKc}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--cert-dir=${join(paths.kubeletRoot, 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      '--v=1',
    ]),
  );
  await waitFor(
    'kube-proxy healthz',
    async () => (await httpRequest(`http://127.0.0.1:${proxyHealthz}/healthz`)).status === 200,
    waitOpts(),
  );
  node.timings.kubeProxy = lap();
  ctx.say(`kube-proxy synced (${node.timings.kubeProxy} ms)`);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    `Node ${NODE_NAME} Ready and untainted`,
    async () => {
      const n = await core.readNode({ name: NODE_NAME });
      const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return ready && !n.spec?.taints?.length;
    },
    waitOpts(),
  );
  node.timings.nodeReady = Date.now() - kubeletStart;
  node.timings.total = total();
  ctx.say(
    `Node ${NODE_NAME} Ready ${node.timings.nodeReady} ms after kubelet started (node total ${node.timings.total} ms)`,
  );
  return node;
}

/** Names of the node's processes, stopped first and in this order. */
export const NODE_COMPONENTS = ['kubelet', 'kube-proxy', 'coredns', 'containerd'] as const;

/** For the bridge check in tests. */
export const NODE_BRIDGE = BRIDGE;

/** This process's hard limit of open files (/proc/self/limits), if it can be read. */
function hardOpenFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = Number(line?.trim().split(/\s+/)[4]);
    return Number.isInteger(hard) && hard > 0 ? hard : undefined;
  } catch {
    return undefined;
  }
}
