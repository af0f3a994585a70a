// The Redis suites' helpers for real pods on the shared node tier (node-cluster.ts):
// redis-cli in a pod's container through `kubectl exec` (the password comes from the
// container's environment, i.e. the Secret), applying synthesized manifests into a test
// namespace, volumes for a StatefulSet's claims, and the faults the suites inject from the
// node: a container's main process killed (a crash: the kubelet restarts it) and a pod cut
// off the network (its network namespace drops everything but loopback).
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { kubectlApplyResult } from '../../cluster/operator-manifests';
import type { NodeCluster } from './node-cluster';
import { run, type RunResult } from './sys';
import { waitFor } from './wait';

type Json = any;

export interface PodRef {
  cluster: NodeCluster;
  namespace: string;
  name: string;
}

export interface CliOptions {
  container?: string;
  host?: string;
  port?: number;
  /** Name of an env var of the container holding the password (sent as REDISCLI_AUTH). */
  authEnv?: string;
  timeoutMs?: number;
}

/** `kubectl exec` into a container; never throws on a non-zero exit. */
export function exec(pod: PodRef, container: string, argv: string[], timeoutMs = 15_000): Promise<RunResult> {
  return run(
    'kubectl',
    ['--kubeconfig', pod.cluster.kubeconfigPath, 'exec', '-n', pod.namespace, pod.name, '-c', container, '--', ...argv],
    { timeoutMs },
  );
}

/** Runs redis-cli in a pod's container; resolves with its trimmed stdout (throws on exit ≠ 0). */
export async function cli(pod: PodRef, args: string[], o: CliOptions = {}): Promise<string> {
  // `timeout` in the container: a peer behind a partition never answers a connect
  const limit = o.timeoutMs ?? 10_000;
  const base = ['timeout', String(Math.ceil(limit / 1000)), 'redis-cli', '-h', o.host ?? '127.0.0.1'];
  base.push('-p', String(o.port ?? 6379));
  const argv = o.authEnv
    ? ['sh', '-c', `REDISCLI_AUTH="$${o.authEnv}" exec "$@"`, 'sh', ...base, ...args]
    : [...base, ...args];
  const r = await exec(pod, o.container ?? 'redis', argv, limit + 15_000);
  if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')} in ${pod.name}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout.replace(/\r/g, '').trim();
}

/**
 * Sends several commands over ONE connection (stdin of redis-cli) and returns one reply per
 * line. Needed for WAIT, which counts acknowledgements of the writes of its own connection.
 * Arguments must not contain white space.
 */
export async function pipeline(pod: PodRef, commands: string[][], o: CliOptions = {}): Promise<string[]> {
  const auth = o.authEnv ? `REDISCLI_AUTH="$${o.authEnv}" ` : '';
  const limit = o.timeoutMs ?? 10_000;
  const cmd = `timeout ${Math.ceil(limit / 1000)} redis-cli -h ${o.host ?? '127.0.0.1'} -p ${o.port ?? 6379}`;
  const script = `printf '%s\\n' "$@" | ${auth}${cmd}`;
  const argv = ['sh', '-c', script, 'sh', ...commands.map((c) => c.join(' '))];
  const r = await exec(pod, o.container ?? 'redis', argv, limit + 15_000);
  if (r.code !== 0) throw new Error(`redis-cli pipeline in ${pod.name}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout.replace(/\r/g, '').trim().split('\n');
}

/** SET key value, then WAIT for `replicas` acknowledgements on the same connection; returns the WAIT count. */
export async function setAndWait(
  pod: PodRef,
  key: string,
  value: string,
  replicas: number,
  timeoutMs: number,
  o: CliOptions = {},
): Promise<number> {
  const [set, acked] = await pipeline(
    pod,
    [
      ['SET', key, value],
      ['WAIT', String(replicas), String(timeoutMs)],
    ],
    { ...o, timeoutMs: timeoutMs + 10_000 },
  );
  if (set !== 'OK') throw new Error(`SET ${key} on ${pod.name}: ${set}`);
  return Number(acked);
}

/** INFO <section> parsed into a map. */
export async function info(pod: PodRef, section: string, o: CliOptions = {}): Promise<Record<string, string>> {
  const out = await cli(pod, ['info', section], o);
  const m: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m[line.slice(0, i)] = line.slice(i + 1);
  }
  return m;
}

/** Waits until the pod's Redis is a replica with its master link up; returns its INFO. */
export function waitLinkUp(pod: PodRef, timeoutMs: number, o: CliOptions = {}) {
  return waitFor(
    `${pod.name}: master_link_status:up`,
    async () => {
      const i = await info(pod, 'replication', o);
      return i.role === 'slave' && i.master_link_status === 'up' ? i : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

// ---------------------------------------------------------------------------------------
// objects

/** The objects with their namespace set to `namespace` (what `kubectl apply -n` does to namespaced objects). */
export function inNamespace(objs: Json[], namespace: string): Json[] {
  return objs.map((o) => ({ ...o, metadata: { ...o.metadata, namespace } }));
}

/** `kubectl apply --server-side` of the objects; throws with kubectl's stderr on failure. */
export async function apply(cluster: NodeCluster, objs: Json[]): Promise<void> {
  const r = await kubectlApplyResult(cluster.kubeconfigPath, objs, { fieldManager: 'redis-node-test' });
  if (r.code !== 0) throw new Error(`kubectl apply failed (${r.code}): ${r.stderr}`);
}

/** The password Secret a user creates for a stack (docs/redis.md), with a random test password. */
export function passwordSecretRef(sts: Json): { name: string; key: string } {
  const env = sts.spec.template.spec.containers[0].env.find((e: Json) => e.name === 'REDIS_PASSWORD');
  return env.valueFrom.secretKeyRef;
}

/**
 * One PersistentVolume per claim of ordinals `0..count-1` of the StatefulSet, pre-bound to it:
 * a hostPath directory on the node (this machine), world-writable as kind's local-path
 * provisioner makes them (the kubelet applies no fsGroup to hostPath volumes). Returns the
 * PV names, for cleanup().
 */
export async function provideVolumes(cluster: NodeCluster, namespace: string, sts: Json, count: number) {
  const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
  const names: string[] = [];
  for (const claim of sts.spec.volumeClaimTemplates ?? []) {
    for (let i = 0; i < count; i++) {
      const name = `${namespace}-${claim.metadata.name}-${i}`;
      const path = cluster.volumeDir(name);
      chmodSync(path, 0o777);
      await core.createPersistentVolume({
        body: {
          metadata: { name },
          spec: {
            capacity: { storage: claim.spec.resources.requests.storage },
            accessModes: claim.spec.accessModes,
            persistentVolumeReclaimPolicy: 'Retain',
            storageClassName: claim.spec.storageClassName ?? '',
            hostPath: { path, type: 'Directory' },
            claimRef: { namespace, name: `${claim.metadata.name}-${sts.metadata.name}-${i}` },
          },
        },
      });
      names.push(name);
    }
  }
  return {
    names,
    cleanup: async () => {
      for (const name of names) {
        await core.deletePersistentVolume({ name }).catch(() => undefined);
        rmSync(cluster.volumeDir(name), { recursive: true, force: true });
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// pods

export async function readPod(pod: PodRef): Promise<k8s.V1Pod> {
  return pod.cluster
    .kubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .readNamespacedPod({ namespace: pod.namespace, name: pod.name });
}

export function containerStatus(p: k8s.V1Pod, container: string): k8s.V1ContainerStatus | undefined {
  return p.status?.containerStatuses?.find((c) => c.name === container);
}

export async function restarts(pod: PodRef, container = 'redis'): Promise<number> {
  return containerStatus(await readPod(pod), container)?.restartCount ?? 0;
}

export async function podReady(pod: PodRef): Promise<boolean> {
  const p = await readPod(pod);
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The container's log (`kubectl logs`, optionally of the previous run). */
export async function logs(pod: PodRef, container = 'redis', previous = false): Promise<string> {
  const r = await pod.cluster.kubectl([
    'logs',
    '-n',
    pod.namespace,
    pod.name,
    '-c',
    container,
    ...(previous ? ['--previous'] : []),
  ]);
  return r.stdout + r.stderr;
}

/** Names of the pods behind `service` that its EndpointSlices mark ready (what a ClusterIP sends traffic to). */
export async function readyEndpoints(cluster: NodeCluster, namespace: string, service: string): Promise<string[]> {
  const slices = await cluster
    .kubeConfig()
    .makeApiClient(k8s.DiscoveryV1Api)
    .listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready)
    .map((e) => e.targetRef?.name ?? '')
    .sort();
}

/** The host pid of a running container's main process (containerd's task). */
export async function containerPid(pod: PodRef, container: string): Promise<number> {
  const id = containerStatus(await readPod(pod), container)?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`${pod.name}/${container} has no container`);
  const out = execFileSync(
    'ctr',
    ['--address', pod.cluster.containerdAddress, '--namespace', 'k8s.io', 'tasks', 'ls'],
    { encoding: 'utf8' },
  );
  const line = out.split('\n').find((l) => l.startsWith(`${id} `));
  const [, pid, status] = line?.trim().split(/\s+/) ?? [];
  if (status !== 'RUNNING') throw new Error(`${pod.name}/${container} (${id}) is not running: ${line}`);
  return Number(pid);
}

/**
 * Kills the container's main process from the node with `signal` (SIGKILL: a crash, as the
 * OOM killer would); the kubelet restarts it (restartPolicy Always). Resolves once the
 * container's restart count went up, i.e. the kubelet saw it die.
 */
export async function crash(pod: PodRef, container: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const before = containerStatus(await readPod(pod), container)?.restartCount ?? 0;
  process.kill(await containerPid(pod, container), signal);
  await waitFor(
    `${pod.name}/${container} restarted by the kubelet`,
    async () => {
      const s = containerStatus(await readPod(pod), container);
      return (s?.restartCount ?? 0) > before && s?.state?.running ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/**
 * Cuts a pod off the network (true) or heals it (false): in the pod's network namespace,
 * everything but loopback is dropped, both ways. Its processes keep running, `kubectl exec`
 * and exec probes keep working (they do not use the pod's network).
 */
export async function partition(pod: PodRef, container: string, cut: boolean): Promise<void> {
  const pid = await containerPid(pod, container);
  const rules = [
    ['INPUT', '!', '-i', 'lo', '-j', 'DROP'],
    ['OUTPUT', '!', '-o', 'lo', '-j', 'DROP'],
  ];
  for (const r of rules) {
    execFileSync('nsenter', ['-t', String(pid), '-n', 'iptables', cut ? '-I' : '-D', ...r], { stdio: 'pipe' });
  }
}

/**
 * A real-pod suite's teardown: its namespace deleted and waited for (bounded: a stuck
 * finalizer must not fail the run), its volumes removed, its lease on the node tier dropped,
 * and its synthesized dist/ folder removed. Every part is optional (beforeAll may have failed).
 */
export async function tearDownRun(run: {
  cluster?: NodeCluster;
  ns?: { name: string; delete(): Promise<void> };
  volumes?: { cleanup(): Promise<void> };
  dist?: string;
}): Promise<void> {
  const { cluster, ns, volumes, dist } = run;
  if (ns && cluster) {
    await ns.delete();
    const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await waitFor(
      `namespace ${ns.name} gone`,
      async () => {
        try {
          await core.readNamespace({ name: ns.name });
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch(() => undefined);
  }
  await volumes?.cleanup();
  cluster?.release();
  if (dist) rmSync(dirname(dist), { recursive: true, force: true });
}
