// A test control plane for people, in the background:
//   npm run cluster:up [-- --nodes N] [-- --tier workload|node|api]
//                                       builds the binaries if needed, starts it detached,
//                                       writes .cluster/kubeconfig (admin), .cluster/pid;
//                                       a default StorageClass `standard` provisions hostPath
//                                       volumes for claims (storage-provisioner.ts).
//                                       --tier node adds one real node (kubelet, containerd,
//                                       kube-proxy, CoreDNS; root only; --nodes then counts
//                                       extra kwok Nodes, default 0)
//   npm run cluster:down                stops it
// Run through scripts/run-ts.mjs (esbuild, no type check). See docs/test-cluster.md.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot, startControlPlane, type ControlPlane, type Tier } from './controlplane';

const root = repoRoot();
// CLUSTER_STATE_DIR moves .cluster/ elsewhere (test/integration/readme-path.test.ts runs the
// README's commands against a cluster of its own, not a developer's).
const stateDir = process.env.CLUSTER_STATE_DIR ? resolve(process.env.CLUSTER_STATE_DIR) : join(root, '.cluster');
const files = {
  pid: join(stateDir, 'pid'),
  kubeconfig: join(stateDir, 'kubeconfig'),
  state: join(stateDir, 'state.json'),
  log: join(stateDir, 'cluster.log'),
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runningPid(): number | undefined {
  if (!existsSync(files.pid)) return undefined;
  const pid = Number(readFileSync(files.pid, 'utf8').trim());
  return pid > 0 && alive(pid) ? pid : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const TIERS: readonly Tier[] = ['api', 'workload', 'node'];

/**
 * --tier api|workload|node (default workload) and --nodes N (kwok Nodes: default 2, or 0 on
 * the node tier); anything else is an error.
 */
function parseArgs(args: string[]): { tier: Tier; nodes: number } {
  const options = new Set(['--nodes', '--tier']);
  const rest = args.filter((a, i) => !options.has(a) && !options.has(args[i - 1]));
  if (rest.length) throw new Error(`unknown argument ${rest[0]}`);
  const t = args.indexOf('--tier');
  const tier = (t < 0 ? 'workload' : args[t + 1]) as Tier;
  if (!TIERS.includes(tier))
    throw new Error(`--tier needs one of ${TIERS.join(', ')}, not ${args[t + 1] ?? 'nothing'}`);
  const i = args.indexOf('--nodes');
  if (i < 0) return { tier, nodes: tier === 'node' ? 0 : 2 };
  const n = Number(args[i + 1]);
  const min = tier === 'node' ? 0 : 1;
  if (!Number.isInteger(n) || n < min || n > 100)
    throw new Error(`--nodes needs a whole number from ${min} to 100, not ${args[i + 1] ?? 'nothing'}`);
  return { tier, nodes: n };
}

async function up(args: string[]): Promise<number> {
  const { tier } = parseArgs(args);
  const existing = runningPid();
  if (existing) {
    console.log(`test cluster already running (pid ${existing}); kubeconfig: ${files.kubeconfig}`);
    return 0;
  }
  const build = spawnSync('bash', [join(root, 'scripts', 'cluster-build.sh')], { stdio: 'inherit' });
  if (build.status !== 0) return build.status ?? 1;
  if (tier === 'node') {
    const nodeBuild = spawnSync('bash', [join(root, 'scripts', 'node-build.sh')], { stdio: 'inherit' });
    if (nodeBuild.status !== 0) return nodeBuild.status ?? 1;
  }

  mkdirSync(stateDir, { recursive: true });
  for (const f of [files.pid, files.state, files.kubeconfig]) rmSync(f, { force: true });
  const log = openSync(files.log, 'w');
  // process.argv[1] is the bundle run-ts.mjs made of this file.
  const daemon = spawn(process.execPath, [process.argv[1], 'serve', ...args], {
    cwd: root,
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  daemon.unref();
  const started = Date.now();
  while (!existsSync(files.state)) {
    if (!alive(daemon.pid!) || Date.now() - started > 300_000) {
      console.error(`test cluster failed to start; ${files.log}:\n${tail(files.log)}`);
      if (alive(daemon.pid!)) process.kill(daemon.pid!, 'SIGTERM');
      return 1;
    }
    await sleep(200);
  }
  const state = JSON.parse(readFileSync(files.state, 'utf8')) as {
    server: string;
    timings: { total: number };
    nodes: string[];
  };
  console.log(
    `test cluster (${tier} tier) up at ${state.server} in ${state.timings.total} ms (pid ${daemon.pid}, nodes ${state.nodes.join(', ')})\n` +
      `  export KUBECONFIG=${files.kubeconfig}\n  log: ${files.log}\n  stop: npm run cluster:down`,
  );
  return 0;
}

async function serve(args: string[]): Promise<void> {
  const { tier, nodes } = parseArgs(args);
  let cp: ControlPlane | undefined;
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping test cluster');
    await cp?.stop();
    for (const f of [files.pid, files.state, files.kubeconfig]) rmSync(f, { force: true });
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown());

  writeFileSync(files.pid, `${process.pid}\n`);
  cp = await startControlPlane({
    tier,
    nodes,
    baseDir: stateDir,
    storage: tier !== 'api',
    log: (m) => console.log(m),
  });
  copyFileSync(cp.kubeconfigPath, files.kubeconfig);
  const state = {
    pid: process.pid,
    server: cp.server,
    dir: cp.dir,
    pki: cp.pki.dir,
    nodes: cp.node ? [cp.node.name, ...cp.nodes] : cp.nodes,
    tier: cp.tier,
    containerd: cp.node?.containerdAddress,
    storageClass: cp.storage?.className,
    timings: cp.timings,
    logs: cp.logs,
  };
  writeFileSync(files.state, JSON.stringify(state, null, 2) + '\n');
  console.log(`ready: ${JSON.stringify(state)}`);
  setInterval(() => {}, 1 << 30); // stay alive until signalled
}

async function down(): Promise<number> {
  const pid = runningPid();
  if (!pid) {
    console.log('no test cluster running');
    for (const f of [files.pid, files.state, files.kubeconfig]) rmSync(f, { force: true });
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; alive(pid); waited += 100) {
    if (waited > 30_000) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await sleep(100);
  }
  console.log(`test cluster stopped (pid ${pid})`);
  return 0;
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'up':
    process.exitCode = await up(rest).catch((err: Error) => {
      console.error(`cluster:up: ${err.message}`);
      return 2;
    });
    break;
  case 'serve':
    await serve(rest).catch((err: Error) => {
      console.error(err.message);
      rmSync(files.pid, { force: true });
      process.exit(1);
    });
    break;
  case 'down':
    process.exitCode = await down();
    break;
  default:
    console.error(
      'usage: node scripts/run-ts.mjs cluster/cli.ts up [--tier api|workload|node] [--nodes N] | down   (npm run cluster:up / cluster:down)',
    );
    process.exitCode = 2;
}
