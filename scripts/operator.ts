// npm run operator [-- FLAGS]: builds build/operator.mjs and runs it as the synthesized
// Deployment does (cluster/local-operator.ts), against the cluster in KUBECONFIG. Prints the
// command line first. SIGINT/SIGTERM are passed on once (the operator is in a process group of
// its own, so a Ctrl-C in the terminal does not reach it twice); it releases its Lease and exits.
import { spawn } from 'node:child_process';
import { buildOperator } from '../cluster/operator-process';
import { localOperatorCommand } from '../cluster/local-operator';
import { repoRoot } from '../cluster/binaries';

const root = repoRoot();
buildOperator();
const cmd = localOperatorCommand(process.argv.slice(2), root);
const env = { ...cmd.env, ...process.env };
const shown = Object.keys(cmd.env)
  .map((k) => `${k}=${env[k]}`)
  .join(' ');
console.error(
  `operator: flags and env of ${cmd.deployment} (dist/memcached-operator.k8s.yaml):\n  ${shown} ${cmd.argv.join(' ')}`,
);
const child = spawn(cmd.argv[0], cmd.argv.slice(1), { cwd: root, env, stdio: 'inherit', detached: true });
console.error(`operator: pid ${child.pid}`);
let forwarded = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (forwarded) return;
    forwarded = true;
    child.kill(sig === 'SIGHUP' ? 'SIGTERM' : sig);
  });
}
child.once('error', (err) => {
  console.error(`operator: ${err.message}`);
  process.exit(1);
});
child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
