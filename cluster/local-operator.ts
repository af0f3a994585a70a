// `npm run operator`: the operator as a local process with the synthesized Deployment's own
// command line (dist/memcached-operator.k8s.yaml, the one source): node flags, --leader-elect,
// --max-concurrent-reconciles, probe and metrics addresses, log level, and the Deployment's env
// (MEMCACHED_IMAGE, MEMCACHED_GROUP_DOMAIN). POD_NAMESPACE, which the pod gets from the
// downward API, is the Deployment's namespace, so the leader election Lease is the in-cluster
// operator's own: a local process and the Deployment's pods are never leaders at the same time.
// Flags given to `npm run operator -- ...` come after the Deployment's and win (e.g.
// `--no-leader-elect`, `--max-concurrent-reconciles=1`); so does POD_NAMESPACE from the caller's
// environment.
import { join } from 'node:path';
import { loadDist } from './dist';

export interface LocalOperatorCommand {
  /** the program and its arguments (the first is the Node binary that runs this) */
  argv: string[];
  /** what the operator gets besides the caller's environment (the caller's wins) */
  env: Record<string, string>;
  /** the Deployment these were read from, as namespace/name */
  deployment: string;
}

/** The Deployment's command line with `extraArgs` appended, for a process in `root` (the repository). */
export function localOperatorCommand(extraArgs: readonly string[], root: string, dir?: string): LocalOperatorCommand {
  const objects = loadDist('memcached-operator', dir);
  const d = objects.find((o) => o.kind === 'Deployment');
  if (!d) throw new Error('dist/memcached-operator.k8s.yaml has no Deployment');
  const c = d.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = d.metadata.namespace;
  }
  const [program, ...nodeArgs] = c.command as string[];
  if (program !== 'node') throw new Error(`the Deployment runs ${program}, not node`);
  // The image's working directory holds build/operator.mjs; here it is the repository's build/.
  const args = nodeArgs.map((a) => (a === 'build/operator.mjs' ? join(root, 'build', 'operator.mjs') : a));
  return {
    argv: [process.execPath, ...args, ...(c.args as string[]), ...extraArgs],
    env,
    deployment: `${d.metadata.namespace}/${d.metadata.name}`,
  };
}
