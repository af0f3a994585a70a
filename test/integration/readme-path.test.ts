// The README's "Deploying" path, run exactly as written: the shell block between
// `<!-- readme-path:begin -->` and `<!-- readme-path:end -->` in README.md, line by line, from
// the repository root, against a cluster of its own. Only `.cluster/` is moved to a temporary
// directory (CLUSTER_STATE_DIR, which cluster/cli.ts honours), so that a developer's own
// `npm run cluster:up` is never touched. Checked along the way:
//   - `npm run cluster:up` gives a default StorageClass whose claims bind;
//   - `npm run deploy` applies all of dist/ to the fresh cluster, exit 0, every object present;
//     redis-sfs pods Running with their claims Bound;
//   - `npm run operator` (a long-running line: started in the background) runs with the
//     Deployment's defaults: it takes the in-cluster operator's Lease and starts the synthesized
//     number of workers; the sample Memcached turns Available;
//   - a second `npm run operator` (the same command, other probe/metrics ports) stays a standby
//     while the first runs, and takes over once the first stops: never two active operators;
//   - `npm run cluster:down` stops it all.
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDist } from '../../cluster/dist';
import { repoRoot } from '../../cluster/binaries';
import { waitFor } from '../support/wait';

const ROOT = repoRoot();
const BEGIN = '<!-- readme-path:begin -->';
const END = '<!-- readme-path:end -->';

/** The commands of the README's block: one per line, comments dropped. */
export function readmeCommands(readme: string): string[] {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} … ${END} block`);
  const block = readme.slice(start + BEGIN.length, end).trim();
  const m = /^```sh\n([\s\S]*?)\n```$/.exec(block);
  if (!m) throw new Error('the readme-path block is not one ```sh code block');
  return m[1]
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}

const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const stateDir = mkdtempSync(join(tmpdir(), 'readme-path-'));
const kubeconfig = join(stateDir, 'kubeconfig');
const env = { ...process.env, CLUSTER_STATE_DIR: stateDir };
/** A README line as run here: `.cluster/` is the temporary state directory. */
const asRun = (line: string) => line.replaceAll('.cluster/', `${stateDir}/`);

const operatorChart = loadDist('memcached-operator');
const deployment = operatorChart.find((o) => o.kind === 'Deployment')!;
const opNamespace: string = deployment.metadata.namespace;
const containerArgs: string[] = deployment.spec.template.spec.containers[0].args;
const workers = Number(containerArgs.find((a) => a.startsWith('--max-concurrent-reconciles='))!.split('=')[1]);
const sample = loadDist('memcached-sample').find((o) => o.kind === 'Memcached')!;

interface Run {
  code: number | null;
  output: string;
}

/** Runs one line with bash from the repository root; resolves with its exit code and output. */
function run(line: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', asRun(line)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('error', fail);
    child.once('close', (code) => done({ code, output }));
  });
}

/** A long-running line (the operator), in a process group of its own. */
interface Background {
  child: ChildProcess;
  output: () => string;
  /** JSON log lines of the operator */
  logs: () => Record<string, any>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function background(line: string): Background {
  const child = spawn('bash', ['-c', asRun(line)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, any>;
        } catch {
          return {};
        }
      });
  const operatorPid = () => Number(/operator: pid (\d+)/.exec(out)?.[1] ?? 0);
  return {
    child,
    output: () => out,
    logs,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // gone already
      }
      const timer = setTimeout(() => {
        for (const pid of [-child.pid!, operatorPid()]) {
          try {
            if (pid) process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }, 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const started: Background[] = [];
let clusterUp = false;
let kc: k8s.KubeConfig;

afterAll(async () => {
  await Promise.all(started.map((b) => b.stop()));
  if (clusterUp) await run('npm run cluster:down');
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

const leaseHolder = async (): Promise<string | undefined> => {
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const leases = (await coord.listNamespacedLease({ namespace: opNamespace })).items;
  return leases.find((l) => l.metadata?.name?.startsWith('memcached-operator'))?.spec?.holderIdentity;
};

describe("the README's Deploying path on a fresh cluster:up", () => {
  it('the README block is the path this test knows: up, deploy, operator, wait, …, down', () => {
    expect(commands[0]).toBe('npm run cluster:up');
    expect(commands.at(-1)).toBe('npm run cluster:down');
    expect(commands.filter((c) => /\bnpm run deploy\b/.test(c))).toHaveLength(1);
    expect(commands.filter((c) => /\bnpm run operator\b/.test(c))).toHaveLength(1);
    expect(commands.findIndex((c) => c.includes('npm run deploy'))).toBeLessThan(
      commands.findIndex((c) => c.includes('npm run operator')),
    );
    // The operator runs with the Deployment's defaults: nothing overridden on the README's line.
    expect(commands.find((c) => c.includes('npm run operator'))).not.toMatch(/ -- /);
  });

  it('npm run cluster:up: a default StorageClass', async () => {
    const r = await run(commands[0]);
    clusterUp = existsSync(join(stateDir, 'pid'));
    expect({ code: r.code, output: r.code === 0 ? '' : r.output }).toEqual({ code: 0, output: '' });
    expect(existsSync(kubeconfig)).toBe(true);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const classes = (await kc.makeApiClient(k8s.StorageV1Api).listStorageClass()).items;
    const defaults = classes.filter(
      (c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
    );
    expect(defaults.map((c) => c.metadata!.name)).toEqual(['standard']);
  }, 400_000);

  it('the deploy line applies all of dist/ to the fresh cluster (exit 0); redis-sfs pods Running, claims Bound', async () => {
    const line = commands.find((c) => c.includes('npm run deploy'))!;
    // Fresh: nothing of dist/ is there yet, not even the CRD.
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await expect(
      ext.readCustomResourceDefinition({ name: `memcacheds.${sample.apiVersion.split('/')[0]}` }),
    ).rejects.toMatchObject({ code: 404 });
    const r = await run(line);
    expect({ code: r.code, output: r.code === 0 ? '' : r.output }).toEqual({ code: 0, output: '' });

    // Every object of every file exists now.
    const client = k8s.KubernetesObjectApi.makeApiClient(kc);
    const files = ['memcached-operator', 'memcached-sample', 'redis-pod', 'redis-deployment', 'redis-statefulset'];
    for (const f of files) {
      for (const o of loadDist(f)) {
        const got = await client.read({
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: { name: o.metadata.name, namespace: o.metadata.namespace },
        });
        expect(`${o.kind}/${got.metadata?.name}`).toBe(`${o.kind}/${o.metadata.name}`);
      }
    }

    const sts = loadDist('redis-statefulset').find((o) => o.kind === 'StatefulSet')!;
    const ns: string = sts.metadata.namespace;
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const names = Array.from({ length: sts.spec.replicas as number }, (_, i) => `${sts.metadata.name}-${i}`);
    let seen = '';
    await waitFor(
      `${names.join(', ')} Running with claims Bound`,
      async () => {
        const pods = await Promise.all(
          names.map((name) => core.readNamespacedPod({ namespace: ns, name }).catch(() => undefined)),
        );
        const claims = await Promise.all(
          names.map((p) =>
            core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: `data-${p}` }).catch(() => undefined),
          ),
        );
        seen = JSON.stringify({
          pods: pods.map((p) => p?.status?.phase),
          claims: claims.map((c) => [c?.status?.phase, c?.spec?.storageClassName]),
        });
        return (
          pods.every((p) => p?.status?.phase === 'Running') &&
          claims.every((c) => c?.status?.phase === 'Bound' && c.spec?.storageClassName === 'standard')
        );
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${seen}`);
    });
  }, 300_000);

  let first: Background;

  it("the operator line runs the operator with the Deployment's defaults: it takes the shared Lease and starts the synthesized workers", async () => {
    const line = commands.find((c) => c.includes('npm run operator'))!;
    first = background(line);
    started.push(first);
    const acquired = await waitFor(
      'the local operator acquires the Lease',
      async () => {
        if (first.child.exitCode !== null)
          throw new Error(`operator exited ${first.child.exitCode}:\n${first.output()}`);
        return first.logs().find((l) => l.msg === 'successfully acquired lease');
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${first.output().slice(-3000)}`);
    });
    // The in-cluster Deployment's Lease (its namespace, its name), held by the local process.
    expect(acquired.lease).toMatch(new RegExp(`^${opNamespace}/memcached-operator\\.`));
    expect(await leaseHolder()).toBe(acquired.identity);
    const syncing = await waitFor(
      'workers started',
      async () => first.logs().find((l) => l.msg === 'caches synced, starting workers'),
      { timeoutMs: 60_000 },
    );
    expect(syncing.workers).toBe(workers);
    expect(workers).toBeGreaterThan(1);
  }, 300_000);

  it('the remaining lines succeed while the operator runs: the sample turns Available', async () => {
    const rest = commands.slice(commands.findIndex((c) => c.includes('npm run operator')) + 1, -1);
    expect(rest.some((c) => /wait .*memcached/.test(c))).toBe(true);
    for (const line of rest) {
      const r = await run(line);
      expect({ line, code: r.code, output: r.code === 0 ? '' : r.output }).toEqual({ line, code: 0, output: '' });
    }
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const [group, version] = sample.apiVersion.split('/');
    const live = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace: sample.metadata.namespace,
      plural: 'memcacheds',
      name: sample.metadata.name,
    })) as any;
    expect(live.status.conditions.find((c: any) => c.type === 'Available')).toMatchObject({ status: 'True' });
    expect(live.status.readyReplicas).toBe(sample.spec.size);
  }, 300_000);

  it('a second `npm run operator` stays a standby while the first leads, and takes over when it stops', async () => {
    const line = commands.find((c) => c.includes('npm run operator'))!;
    const holder = await leaseHolder();
    const second = background(`${line} -- --health-probe-bind-address=127.0.0.1:0 --metrics-bind-address=127.0.0.1:0`);
    started.push(second);
    await waitFor(
      'the second operator tries for the Lease',
      async () => {
        if (second.child.exitCode !== null)
          throw new Error(`second operator exited ${second.child.exitCode}:\n${second.output()}`);
        return second.logs().some((l) => l.msg === 'attempting to acquire leader lease');
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    // Several retry periods (2 s) and more than a renew deadline (10 s): still a standby.
    await new Promise((r) => setTimeout(r, 12_000));
    expect(
      second
        .logs()
        .filter((l) => l.msg === 'successfully acquired lease' || l.msg === 'caches synced, starting workers'),
    ).toEqual([]);
    expect(await leaseHolder()).toBe(holder);

    await first.stop('SIGTERM');
    expect(first.logs().some((l) => l.msg === 'released lease')).toBe(true);
    const took = await waitFor(
      'the second operator takes over',
      async () => second.logs().find((l) => l.msg === 'successfully acquired lease'),
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    expect(await leaseHolder()).toBe(took.identity);
    expect(took.identity).not.toBe(holder);
    await second.stop('SIGTERM');
  }, 400_000);

  it('npm run cluster:down stops it', async () => {
    const r = await run(commands.at(-1)!);
    expect(r.code).toBe(0);
    clusterUp = false;
    expect(existsSync(kubeconfig)).toBe(false);
    expect(existsSync(join(stateDir, 'pid'))).toBe(false);
  }, 120_000);
});
