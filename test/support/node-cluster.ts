// One node tier (cluster/node.ts: a control plane with one real node) shared by the
// integration suites that run real pods (operator-node, redis-statefulset, redis-ha-failover).
//
// Only one node tier can run per machine (its bridge, KUBE- chains and kubepods cgroups are
// machine-wide), and node-tier.test.ts needs one of its own (it checks that stop() restores
// the machine). So the shared tier is not held for the whole run: it lives in a small server
// process of its own (this file run as a program), and suites hold it through lease files:
//   acquireNodeCluster(label)  writes a lease (named after the calling process's pid), starts
//                              the server if none runs (it waits for the machine's node-tier
//                              lock like any other start), and resolves once the tier is up;
//   cluster.release()          removes the lease.
// The server stops the tier and exits once no live process has held a lease for IDLE_MS, so
// suites that follow each other (in one jest process, or in parallel workers) share one tier,
// while node-tier.test.ts gets the machine a few seconds after the last of them. Leases of
// processes that died are ignored. The integration global teardown calls stopNodeCluster().
//
// The apiserver keeps an audit log of every request made with a ServiceAccount's credentials
// (Metadata level), so suites can check who a pod authenticated as.
// State: $NODE_CLUSTER_DIR or <tmp>/kts-node-cluster (server.log, state.json, leases/).
import * as k8s from '@kubernetes/client-node';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadImage, repoRoot, startControlPlane, type ControlPlane } from '../../cluster/controlplane';
import { buildImages, writeStackConfig, type ImageName, type ImageSet } from '../../cluster/images';
import { kubectl, type KubectlResult } from '../../cluster/operator-manifests';
import { sleep } from './wait';

/** How long the server keeps the tier after the last lease went. */
const IDLE_MS = 30_000;
/** How long acquireNodeCluster waits (another node tier on the machine, then the start). */
const ACQUIRE_TIMEOUT_MS = 20 * 60_000;

function stateDir(): string {
  return resolve(process.env.NODE_CLUSTER_DIR ?? join(tmpdir(), 'kts-node-cluster'));
}

const files = (dir = stateDir()) => ({
  dir,
  pid: join(dir, 'server.pid'),
  state: join(dir, 'state.json'),
  stopping: join(dir, 'stopping'),
  leases: join(dir, 'leases'),
  log: join(dir, 'server.log'),
  auditPolicy: join(dir, 'audit-policy.yaml'),
  auditLog: join(dir, 'audit.log'),
  volumes: join(dir, 'volumes'),
});

/** What the server writes once the tier is up. */
interface State {
  pid: number;
  server: string;
  kubeconfigPath: string;
  pkiDir: string;
  dir: string;
  nodeName: string;
  nodeIp: string;
  clusterDnsIp: string;
  probeImage: string;
  containerdAddress: string;
  auditLog: string;
  /** ms the start took (cp.timings) */
  timings: Record<string, number | undefined>;
  logs: Record<string, string>;
}

function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return 0;
  }
}

function readState(path: string): State | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

function tail(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Live leases: files `<pid>-<random>` whose process runs; the others are removed. */
function liveLeases(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const live: string[] = [];
  for (const f of readdirSync(dir)) {
    if (alive(Number(f.split('-')[0]))) live.push(f);
    else rmSync(join(dir, f), { force: true });
  }
  return live;
}

// ---------------------------------------------------------------------------------------
// the client side (test files)

/** An audit event (audit.k8s.io/v1 Event), the fields the suites read. */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[]; extra?: Record<string, string[]> };
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  stage: string;
}

export interface NodeCluster {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly clusterDnsIp: string;
  readonly probeImage: string;
  readonly containerdAddress: string;
  /** ms the tier took to start (when this suite started it; else what the first start took) */
  readonly timings: Record<string, number | undefined>;
  /** component log files of the control plane and the node */
  readonly logs: Record<string, string>;
  /** whether this acquire started the tier (false: it was already running) */
  readonly startedHere: boolean;
  kubeConfig(): k8s.KubeConfig;
  /** `kubectl --kubeconfig <admin> args...`; never throws on a non-zero exit */
  kubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** like kubectl, but throws with stderr unless it exits 0; resolves with stdout */
  kubectlOk(args: readonly string[], input?: string): Promise<string>;
  /** imports OCI archives into the node's containerd; resolves with the references */
  loadImages(archives: readonly string[]): Promise<string[]>;
  /** the audit events so far (requests made with ServiceAccount credentials) */
  auditEvents(): AuditEvent[];
  /** a directory on the node (this machine) for hostPath volumes; removed with the tier's state */
  volumeDir(name: string): string;
  /** gives the lease back (the tier stops a few seconds after the last one) */
  release(): void;
}

/**
 * The shared node tier, started if needed. Fails loudly (with the server's log) when it
 * cannot start: the suites that need it are never skipped.
 */
export async function acquireNodeCluster(label: string): Promise<NodeCluster> {
  const f = files();
  mkdirSync(f.leases, { recursive: true });
  const lease = join(f.leases, `${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(lease, `${label}\n`);
  const deadline = Date.now() + ACQUIRE_TIMEOUT_MS;
  let startedHere = false;
  try {
    for (;;) {
      if (Date.now() > deadline)
        throw new Error(`the shared node tier did not come up in ${ACQUIRE_TIMEOUT_MS / 1000} s:\n${tail(f.log)}`);
      const pid = readPid(f.pid);
      if (existsSync(f.stopping) || (pid && !alive(pid))) {
        // a server on its way out (idle, or died): wait for it to be gone, then start anew
        if (pid && alive(pid)) {
          await sleep(250);
          continue;
        }
        if (pid && startedHere && !existsSync(f.state))
          throw new Error(`the shared node tier failed to start; ${f.log}:\n${tail(f.log)}`);
        rmSync(f.stopping, { force: true });
        rmSync(f.state, { force: true });
        rmSync(f.pid, { force: true });
        continue;
      }
      if (!pid) {
        let fd: number;
        try {
          fd = openSync(f.pid, 'wx');
        } catch {
          await sleep(100); // another process is starting it
          continue;
        }
        const child = spawnServer(f.dir, f.log);
        writeFileSync(fd, `${child}\n`);
        closeSync(fd);
        startedHere = true;
        continue;
      }
      const state = readState(f.state);
      if (state && state.pid === pid) return client(state, lease, startedHere);
      await sleep(250);
    }
  } catch (err) {
    rmSync(lease, { force: true });
    throw err;
  }
}

function spawnServer(dir: string, logPath: string): number {
  mkdirSync(dir, { recursive: true });
  const log = openSync(logPath, 'a');
  const child = spawn(
    process.execPath,
    [join(repoRoot(), 'scripts', 'run-ts.mjs'), join(repoRoot(), 'test', 'support', 'node-cluster.ts'), 'serve', dir],
    { cwd: repoRoot(), detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  return child.pid!;
}

function client(state: State, lease: string, startedHere: boolean): NodeCluster {
  const kc = () => {
    const c = new k8s.KubeConfig();
    c.loadFromFile(state.kubeconfigPath);
    return c;
  };
  const f = files();
  return {
    server: state.server,
    kubeconfigPath: state.kubeconfigPath,
    nodeName: state.nodeName,
    nodeIp: state.nodeIp,
    clusterDnsIp: state.clusterDnsIp,
    probeImage: state.probeImage,
    containerdAddress: state.containerdAddress,
    timings: state.timings,
    logs: state.logs,
    startedHere,
    kubeConfig: kc,
    kubectl: (args, input) => kubectl(state.kubeconfigPath, args, input),
    kubectlOk: async (args, input) => {
      const r = await kubectl(state.kubeconfigPath, args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    loadImages: async (archives) =>
      (await Promise.all(archives.map((a) => loadImage(state.containerdAddress, a)))).flat(),
    auditEvents: () => {
      let text: string;
      try {
        text = readFileSync(state.auditLog, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as AuditEvent);
    },
    volumeDir: (name) => {
      const d = join(f.volumes, name);
      mkdirSync(d, { recursive: true });
      return d;
    },
    release: () => rmSync(lease, { force: true }),
  };
}

/**
 * For the integration global teardown: stops the shared node tier's server (SIGTERM) and
 * waits for it, unless another process (another jest run) holds a lease.
 */
export async function stopNodeCluster(timeoutMs = 60_000): Promise<void> {
  const f = files();
  const pid = readPid(f.pid);
  if (!alive(pid) || liveLeases(f.leases).length) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
}

// ---------------------------------------------------------------------------------------
// images and manifests for the real node

/** The local images (cluster/images.ts; built once per machine, then only checked). */
export async function localImages(log: (line: string) => void = () => undefined): Promise<ImageSet> {
  return buildImages({ log });
}

/**
 * `npm run synth` with the synth configuration of the local images (STACK_CONFIG from
 * stackConfigFor) into a fresh directory outside the repository (CDK8S_OUTDIR); never
 * touches dist/. Returns the directory; the caller removes it.
 */
export function synthesizeLocal(images: Pick<ImageSet, 'operator' | 'memcached' | 'redis' | 'haproxy'>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kts-local-dist-'));
  const config = writeStackConfig(images, join(dir, 'stack.yaml'));
  const out = join(dir, 'dist');
  const r = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'run-ts.mjs'), 'main.ts'], {
    cwd: repoRoot(),
    env: { ...process.env, STACK_CONFIG: config, CDK8S_OUTDIR: out },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`synth with ${config} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return out;
}

/** The archives of the named local images. */
export function archives(images: ImageSet, names: readonly ImageName[]): string[] {
  return names.map((n) => images[n].archive);
}

// ---------------------------------------------------------------------------------------
// pods

export const isReady = (pod: k8s.V1Pod) =>
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

// ---------------------------------------------------------------------------------------
// the server (this file run as a program through scripts/run-ts.mjs)

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ['system:serviceaccounts']
  - level: None
`;

async function serve(dir: string): Promise<void> {
  const f = files(dir);
  const say = (m: string) => console.log(`[node-cluster ${new Date().toISOString()}] ${m}`);
  writeFileSync(f.pid, `${process.pid}\n`);
  mkdirSync(f.leases, { recursive: true });
  rmSync(f.volumes, { recursive: true, force: true });
  rmSync(f.auditLog, { force: true });
  writeFileSync(f.auditPolicy, AUDIT_POLICY);
  let cp: ControlPlane | undefined;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`stopping the node tier: ${why}`);
    writeFileSync(f.stopping, `${process.pid}\n`);
    rmSync(f.state, { force: true });
    let code = 0;
    try {
      await cp?.stop();
    } catch (err) {
      say(`stop: ${(err as Error).message}`);
      code = 1;
    }
    rmSync(f.volumes, { recursive: true, force: true });
    if (readPid(f.pid) === process.pid) rmSync(f.pid, { force: true });
    rmSync(f.stopping, { force: true });
    say('stopped');
    process.exit(code);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(sig));

  const build = spawnSync('bash', [join(repoRoot(), 'scripts', 'node-build.sh')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`scripts/node-build.sh failed (${build.status})`);
  const t0 = Date.now();
  cp = await startControlPlane({
    tier: 'node',
    timeoutMs: 300_000,
    apiserverArgs: [`--audit-policy-file=${f.auditPolicy}`, `--audit-log-path=${f.auditLog}`, '--audit-log-maxsize=0'],
    log: say,
  });
  const node = cp.node!;
  const state: State = {
    pid: process.pid,
    server: cp.server,
    kubeconfigPath: cp.kubeconfigPath,
    pkiDir: cp.pki.dir,
    dir: cp.dir,
    nodeName: node.name,
    nodeIp: node.ip,
    clusterDnsIp: node.clusterDnsIp,
    probeImage: node.probeImage,
    containerdAddress: node.containerdAddress,
    auditLog: f.auditLog,
    timings: { ...cp.timings, ...Object.fromEntries(Object.entries(node.timings).map(([k, v]) => [`node.${k}`, v])) },
    logs: { ...cp.logs },
  };
  writeFileSync(`${f.state}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${f.state}.tmp`, f.state);
  say(`ready in ${Date.now() - t0} ms at ${cp.server}: ${JSON.stringify(state.timings)}`);

  let idleSince = 0;
  setInterval(() => {
    if (stopping) return;
    const leases = liveLeases(f.leases);
    if (leases.length) {
      idleSince = 0;
      return;
    }
    idleSince ||= Date.now();
    if (Date.now() - idleSince < IDLE_MS) return;
    // Announce, then look once more: a suite that wrote its lease meanwhile keeps the tier.
    writeFileSync(f.stopping, `${process.pid}\n`);
    if (liveLeases(f.leases).length) {
      unlinkSync(f.stopping);
      idleSince = 0;
      return;
    }
    void stop(`no lease for ${IDLE_MS / 1000} s`);
  }, 500);
}

if (/test-support-node-cluster\.mjs$/.test(process.argv[1] ?? '') && process.argv[2] === 'serve') {
  serve(resolve(process.argv[3] ?? stateDir())).catch((err: Error) => {
    console.error(`[node-cluster] failed: ${err.stack ?? err.message}`);
    const f = files(resolve(process.argv[3] ?? stateDir()));
    rmSync(f.state, { force: true });
    process.exit(1);
  });
}
