// Runs the operator as the synthesized Deployment does: the command, args and env are read
// from dist/memcached-operator.k8s.yaml. Two things differ, because a test host is not a pod:
// the probe/metrics bind addresses become free ports (several operators share one host), and
// the API server is reached through a kubeconfig (KUBECONFIG) instead of the in-cluster
// service account mount; the kubeconfig holds the operator ServiceAccount's own token.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDist } from './dist';

const ROOT = process.cwd();
let built = false;

/** Bundles operator/main.ts into build/operator.mjs, the file the image runs. */
export function buildOperator(): void {
  if (built) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), 'operator/main.ts', 'build/operator.mjs'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`building the operator failed:\n${r.stderr}`);
  built = true;
}

export interface DeploymentSpec {
  command: string[];
  args: string[];
  env: Record<string, string>;
  /** resources.limits, as written (e.g. cpu 500m, memory 256Mi) */
  limits: { cpu?: string; memory?: string };
}

/** The operator container of the synthesized Deployment. */
export function synthesizedOperator(): DeploymentSpec {
  const d = loadDist('memcached-operator').find(
    (o) => o.kind === 'Deployment' && o.metadata.name === 'memcached-operator',
  );
  if (!d) throw new Error('dist/memcached-operator.k8s.yaml has no Deployment memcached-operator');
  const c = d.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return { command: c.command, args: c.args, env, limits: c.resources?.limits ?? {} };
}

export interface OperatorProcess {
  readonly proc: ChildProcess;
  readonly lines: Record<string, any>[];
  readonly exited: Promise<number | null>;
  healthPort(): Promise<number>;
  metricsPort(): Promise<number>;
  waitForLog(what: string, pred: (l: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Text of every line, for assertions on what was logged. */
  text(): string;
}

export function startOperator(opts: {
  kubeconfig: string;
  podNamespace: string;
  watchNamespace?: string;
  extraEnv?: Record<string, string>;
  extraArgs?: string[];
  isolated?: boolean;
  /** runs the command through this prefix, e.g. one that joins a cgroup and execs the rest */
  commandPrefix?: string[];
}): OperatorProcess {
  buildOperator();
  const spec = synthesizedOperator();
  const args = spec.args.map((a) =>
    a.startsWith('--health-probe-bind-address=')
      ? '--health-probe-bind-address=127.0.0.1:0'
      : a.startsWith('--metrics-bind-address=')
        ? '--metrics-bind-address=127.0.0.1:0'
        : a,
  );
  const [cmd, ...cmdArgs] = spec.command;
  // isolated: run from a directory holding only the bundle, as the image does (no node_modules).
  const cwd = opts.isolated ? mkdtempSync(join(tmpdir(), 'operator-image-')) : ROOT;
  if (opts.isolated) {
    mkdirSync(join(cwd, 'build'));
    // the bundle and the client-node module it loads only for kubeconfigs its own loader does not handle
    for (const file of ['operator.mjs', 'operator-client-node.mjs'])
      copyFileSync(join(ROOT, 'build', file), join(cwd, 'build', file));
  }
  const argv = [
    ...(opts.commandPrefix ?? []),
    cmd === 'node' ? process.execPath : cmd,
    ...cmdArgs,
    ...args,
    ...(opts.extraArgs ?? []),
  ];
  const proc = spawn(argv[0], argv.slice(1), {
    cwd,
    env: {
      PATH: process.env.PATH,
      ...spec.env,
      KUBECONFIG: opts.kubeconfig,
      POD_NAMESPACE: opts.podNamespace,
      ...(opts.watchNamespace ? { WATCH_NAMESPACE: opts.watchNamespace } : {}),
      ...opts.extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, any>[] = [];
  const raw: string[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ msg: line, unparsed: true });
      }
      for (const w of waiters.splice(0)) w();
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => raw.push(`stderr: ${chunk}`));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

  const waitForLog = async (what: string, pred: (l: Record<string, any>) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (proc.exitCode !== null)
        throw new Error(`operator exited (${proc.exitCode}) before logging ${what}:\n${raw.slice(-30).join('\n')}`);
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for operator log: ${what}\n${raw.slice(-30).join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
  const starting = () => waitForLog('starting', (l) => l.msg === 'starting');
  return {
    proc,
    lines,
    exited,
    waitForLog,
    healthPort: async () => (await starting()).healthProbePort,
    metricsPort: async () => (await starting()).metricsPort,
    text: () => raw.join('\n'),
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Kills every operator a test file started, even when the test failed. */
export async function stopAll(procs: OperatorProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
}

/** For afterEach: prints the operators' last log lines when the test failed (or OPERATOR_LOGS is set). */
export function dumpLogsOnFailure(
  procs: OperatorProcess[],
  state: { assertionCalls: number; numPassingAsserts: number; currentTestName?: string },
  lines = 40,
): void {
  if (state.assertionCalls === state.numPassingAsserts && !process.env.OPERATOR_LOGS) return;
  for (const op of procs)
    process.stderr.write(
      `--- operator log (${state.currentTestName})\n${op.text().split('\n').slice(-lines).join('\n')}\n`,
    );
}
