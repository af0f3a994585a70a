// What one run of the operator benchmark measures (written to the JSON result file).
import type { clientRates, RequestSummary } from '../lib/audit';
import type { LimitStats } from '../lib/cgroup';
import type { latencyStats } from '../lib/stats';

/** The benchmark's own view of one Memcached object in the current phase. */
export interface CrState {
  /** the namespace the object lives in */
  namespace: string;
  size: number;
  sentAt?: number;
  respondedAt?: number;
  /** first watch event of its Deployment (create phase) / of its Deployment with the new replicas (update phase) */
  deploymentAt?: number;
  deploymentReady: boolean;
  deploymentReadyAt?: number;
  crReady: boolean;
  crReadyAt?: number;
}

export interface PhaseResult {
  converged: boolean;
  /** CRs that reached every criterion (equals N when converged) */
  convergedCount: number;
  /** from the first request sent: all creates/patches answered */
  allSentMs?: number;
  /** every Deployment exists (update: has the new replicas) */
  allDeploymentsMs?: number;
  /** every Deployment has the right replicas and is Available (workload tier) */
  allDeploymentsAvailableMs?: number;
  /** every Memcached reports the new generation (workload: Available with all pods ready) */
  allStatusMs?: number;
  /** per CR: request sent → its Deployment (with the right replicas) seen on our watch */
  latencyClientMs: ReturnType<typeof latencyStats>;
  /** per CR, from the audit log: the CR create/patch done → the operator's Deployment create/apply done */
  latencyServerMs: ReturnType<typeof latencyStats>;
  /** round trip of the benchmark's own create/patch requests (the API's baseline) */
  requestMs: ReturnType<typeof latencyStats>;
  operatorRequests: RequestSummary;
  /** requests of every other client in the same window (kube-controller-manager by controller): total, per second, busiest second */
  otherClients: ReturnType<typeof clientRates>;
  cpuSeconds?: number;
  rssEndMiB?: number;
  peakRssMiB?: number;
  operatorMetrics: OperatorMetricsDelta;
}

export interface SingleResult {
  count: number;
  /** request sent → Deployment on our watch, one CR at a time on a quiet system */
  latencyClientMs: ReturnType<typeof latencyStats>;
  latencyServerMs: ReturnType<typeof latencyStats>;
  requestMs: ReturnType<typeof latencyStats>;
}

/** CPU seconds per process of the machine's benchmark set-up in a phase, and the phase's wall time. */
export interface CpuShare {
  wallS: number;
  cpuS: Record<string, number>;
}

export interface IdleResult {
  seconds: number;
  operatorRequests: RequestSummary;
  writes: number;
  leaseWrites: number;
  writesExcludingLease: number;
  cpuSeconds?: number;
  rssStartMiB?: number;
  rssEndMiB?: number;
  rssSlopeMiBPerMin?: number;
  heapUsedStartMiB?: number;
  heapUsedEndMiB?: number;
  operatorMetrics: OperatorMetricsDelta;
}

export interface OperatorMetricsDelta {
  reconciles: Record<string, number>;
  meanReconcileMs?: number;
  meanQueueWaitMs?: number;
  queueAdds?: number;
  watchRestarts?: number;
  /** by "resource reason" (closed: the server ended the watch; timeout: its timeoutSeconds ran out) */
  watchRestartsByReason?: Record<string, number>;
  /** watch events the operator's informers received, by resource (what triggers reconciles) */
  watchEvents?: Record<string, number>;
}

export interface RunResult {
  /** the operator under test (bench/operator/subject.ts: `ours`, or `go` in bench:compare) */
  operator?: string;
  n: number;
  workers: number;
  run: number;
  tier: 'api' | 'workload';
  nodes: number;
  /** 1-minute load average when the run started and ended (the machine is shared) */
  loadavg: { start: number; end: number };
  controlPlaneStartMs: number;
  operatorStartMs: number;
  create: PhaseResult;
  idle: IdleResult;
  update: PhaseResult;
  single?: SingleResult;
  /** CPU seconds by component in each phase (where the machine's two cores went) */
  cpuByComponent: { create: CpuShare; idle: CpuShare; update: CpuShare };
  operatorTotal: { requests: RequestSummary; cpuSeconds?: number; peakRssMiB?: number };
  /** the limits the operator ran under (the Deployment's), and what the cgroup saw */
  limits: { cpu?: string; memory?: string; cgroup?: 'v1' | 'v2'; error?: string; stats?: LimitStats };
  /** apiserver_request_total deltas over the run for series only the operator produces, next to the audit count */
  metricCrossCheck: { series: string; metric: number; audit: number }[];
  error?: string;
}
