// `npm run operator` (scripts/operator.ts) runs the synthesized Deployment's command line:
// cluster/local-operator.ts reads it from dist/memcached-operator.k8s.yaml, and the operator's
// own flag parser sees the Deployment's defaults (leader election on the Deployment's Lease
// namespace, its workers; operator/main.ts supplies the Lease name) unless flags given after `--` say otherwise.
import { join } from 'node:path';
import { localOperatorCommand } from '../../../cluster/local-operator';
import { loadDist } from '../../../cluster/dist';
import { parseManagerFlags } from '../../../operator/runtime/flags';

const ROOT = process.cwd();
const deployment = loadDist('memcached-operator').find((o) => o.kind === 'Deployment')!;
const container = deployment.spec.template.spec.containers[0];

/** What the operator's main() parses: the arguments after build/operator.mjs. */
const operatorArgs = (argv: string[]) => argv.slice(argv.indexOf(join(ROOT, 'build', 'operator.mjs')) + 1);

describe("npm run operator: the Deployment's command line", () => {
  it("runs the Deployment's Node flags and arguments, on this Node and the repository's bundle", () => {
    const cmd = localOperatorCommand([], ROOT);
    const [, ...nodeFlags] = container.command as string[];
    expect(cmd.argv).toEqual([
      process.execPath,
      ...nodeFlags.map((a) => (a === 'build/operator.mjs' ? join(ROOT, 'build', 'operator.mjs') : a)),
      ...container.args,
    ]);
    expect(cmd.deployment).toBe(`${deployment.metadata.namespace}/${deployment.metadata.name}`);
  });

  it("gets the Deployment's env, and POD_NAMESPACE = the Deployment's namespace (the downward API value)", () => {
    const cmd = localOperatorCommand([], ROOT);
    const values = Object.fromEntries(
      (container.env as { name: string; value?: string }[])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, e.value]),
    );
    expect(cmd.env).toEqual({ ...values, POD_NAMESPACE: deployment.metadata.namespace });
    expect(cmd.env.MEMCACHED_IMAGE).toMatch(/^memcached:/);
  });

  it("the operator parses leader election on the Deployment's Lease namespace and its workers", () => {
    const cmd = localOperatorCommand([], ROOT);
    const opts = parseManagerFlags(operatorArgs(cmd.argv), cmd.env, {
      leaderElectionId: 'memcached-operator.cache.example.com',
    });
    const workers = Number(
      (container.args as string[]).find((a) => a.startsWith('--max-concurrent-reconciles='))!.split('=')[1],
    );
    expect(opts).toMatchObject({
      leaderElect: true,
      maxConcurrentReconciles: workers,
      podNamespace: 'memcached-operator-system',
    });
    expect(workers).toBeGreaterThan(1);
  });

  it('flags after `--` come last and win', () => {
    const cmd = localOperatorCommand(
      ['--no-leader-elect', '--max-concurrent-reconciles=1', '--metrics-bind-address=127.0.0.1:0'],
      ROOT,
    );
    expect(cmd.argv.slice(-3)).toEqual([
      '--no-leader-elect',
      '--max-concurrent-reconciles=1',
      '--metrics-bind-address=127.0.0.1:0',
    ]);
    const opts = parseManagerFlags(operatorArgs(cmd.argv), cmd.env, {
      leaderElectionId: 'memcached-operator.cache.example.com',
    });
    expect(opts).toMatchObject({ leaderElect: false, maxConcurrentReconciles: 1, metricsBindAddress: '127.0.0.1:0' });
  });
});
