// The operator under test, pluggable: how to install what it needs (CRD, ServiceAccount, RBAC),
// how to start it, which audit user its requests come from, and when a Memcached's status says
// it is done. `ours` is the synthesized operator; bench/compare/go-operator.ts is the Go sample.
import type { ControlPlane } from '../../cluster/controlplane';
import { installOperatorPrerequisites } from '../../cluster/operator-manifests';
import { OP_NS, OP_SA, OP_USER, type Options } from './options';
import { startBenchOperator, type BenchOperator, type RunEnv } from './setup';

export interface Subject {
  /** short name in file names and tables: `ours`, `go` */
  readonly name: string;
  /** the ServiceAccount it runs as (installed by `install`) */
  readonly namespace: string;
  readonly serviceAccount: string;
  /** its audit user name: system:serviceaccount:<namespace>:<serviceAccount> */
  readonly user: string;
  /** CRD (Established when this returns), namespace, ServiceAccount and RBAC */
  install(cp: ControlPlane): Promise<void>;
  /** starts it with env.saKubeconfig and returns once its workers run */
  start(opts: Options, env: RunEnv, n: number, workers: number, run: number): Promise<BenchOperator>;
  /** whether a Memcached's status reports `size` as done (workload tier; the api tier checks less) */
  crReady(tier: Options['tier'], o: any, size: number): boolean;
}

/** Our status: observedGeneration, Available, ready replicas and the pod names for `size`. */
export function oursCrReady(tier: Options['tier'], o: any, size: number): boolean {
  const s = o.status ?? {};
  if (o.spec?.size !== size || s.observedGeneration !== o.metadata?.generation) return false;
  if ((s.conditions ?? []).some((c: any) => c.type === 'Degraded' && c.status !== 'False')) return false;
  if (tier === 'api') return Array.isArray(s.conditions) && s.conditions.length > 0;
  return (
    (s.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True') &&
    s.readyReplicas === size &&
    s.replicas === size &&
    (s.nodes ?? []).length === size
  );
}

/** The synthesized operator (dist/memcached-operator.k8s.yaml) under its own ServiceAccount. */
export const ours: Subject = {
  name: 'ours',
  namespace: OP_NS,
  serviceAccount: OP_SA,
  user: OP_USER,
  install: (cp) => installOperatorPrerequisites(cp.kubeconfigPath),
  start: startBenchOperator,
  crReady: oursCrReady,
};
