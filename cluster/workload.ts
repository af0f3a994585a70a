// The workload tier of the control plane: kube-controller-manager, kube-scheduler and kwok,
// which plays the kubelets of fake Nodes (pods are scheduled and turn Running, no container
// runs). Started by controlplane.ts once etcd and kube-apiserver are ready.
import * as k8s from '@kubernetes/client-node';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from './binaries';
import type { Pki } from './pki';
import { failIfExited, logTails, type Component } from './processes';
import { waitFor } from './wait';

export const SERVICE_CIDR = '10.0.0.0/24';
/** kwok manages only the Nodes with this label (the ones startWorkload makes). */
export const KWOK_NODE_LABEL = 'type=kwok';

export const DEFAULT_CONTROLLERS: readonly string[] = [
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'job-controller',
  'cronjob-controller',
  'replicationcontroller-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-protection-controller',
  'persistentvolumeclaim-protection-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
  'disruption-controller',
  'resourcequota-controller',
  'ttl-after-finished-controller',
  'pod-garbage-collector-controller',
  // removes the node.kubernetes.io/not-ready taint that admission puts on new Nodes once
  // kwok reports them Ready (and taints them again if kwok stops heartbeating)
  'node-lifecycle-controller',
];

export interface WorkloadOptions {
  /** number of kwok-managed Nodes to create (default 1; node tier: 0, and 0 runs no kwok) */
  nodes?: number;
  /** kube-controller-manager --controllers (default: DEFAULT_CONTROLLERS) */
  controllers?: readonly string[];
  /** extra kube-controller-manager flags, e.g. ['--kube-api-qps=200'] */
  controllerManagerArgs?: readonly string[];
  /** extra kube-scheduler flags */
  schedulerArgs?: readonly string[];
}

/** What the workload tier needs from the control plane that starts it. */
export interface WorkloadContext {
  dir: string;
  pki: Pki;
  bins: Binaries;
  timeoutMs: number;
  /** etcd and kube-apiserver: a wait fails at once when one of them dies */
  running: Component[];
  launch(name: string, argv: string[], env?: NodeJS.ProcessEnv): Component;
  /** writes a client-certificate kubeconfig for a component and returns its path */
  componentKubeconfig(name: string, user: string, groups: string[]): Promise<string>;
  kubeConfig(): k8s.KubeConfig;
}

/** Starts the workload tier and waits until its Nodes are Ready and untainted; returns the Node names. */
export async function startWorkload(ctx: WorkloadContext, opts: WorkloadOptions): Promise<string[]> {
  const count = opts.nodes ?? 1;
  const [kcmConfig, schedConfig, kwokConfig] = await Promise.all([
    // use-service-account-credentials=false: all controllers act as this one identity.
    ctx.componentKubeconfig('kube-controller-manager', 'system:kube-controller-manager', ['system:masters']),
    ctx.componentKubeconfig('kube-scheduler', 'system:kube-scheduler', []),
    ctx.componentKubeconfig('kwok', 'kwok', ['system:masters']),
  ]);
  const kcm = ctx.launch('kube-controller-manager', [
    ...ctx.bins.controllerManager,
    `--kubeconfig=${kcmConfig}`,
    `--controllers=${(opts.controllers ?? DEFAULT_CONTROLLERS).join(',')}`,
    '--leader-elect=false',
    '--secure-port=0',
    `--root-ca-file=${ctx.pki.caCert}`,
    `--service-account-private-key-file=${ctx.pki.saKey}`,
    '--use-service-account-credentials=false',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--concurrent-gc-syncs=5',
    '--profiling=false',
    ...(opts.controllerManagerArgs ?? []),
  ]);
  const scheduler = ctx.launch('kube-scheduler', [
    ...ctx.bins.scheduler,
    `--kubeconfig=${schedConfig}`,
    `--authentication-kubeconfig=${schedConfig}`,
    `--authorization-kubeconfig=${schedConfig}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--profiling=false',
    ...(opts.schedulerArgs ?? []),
  ]);
  // HOME is the control plane's directory so that no ~/.kwok/kwok.yaml of the user leaks in.
  const kwokHome = join(ctx.dir, 'kwok-home');
  mkdirSync(kwokHome, { recursive: true });
  const kwok =
    count === 0
      ? undefined
      : ctx.launch(
          'kwok',
          [
            ...ctx.bins.kwok,
            `--kubeconfig=${kwokConfig}`,
            `--config=${ctx.bins.kwokStages}`,
            // only the Nodes made below (label type=kwok): the node tier's real kubelet keeps its
            // own Node and Lease
            `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL}`,
            // Heartbeat through Leases in kube-node-lease, as kubelets do. Without it the
            // node-heartbeat-with-lease stage renews Node status only every ~10-20 minutes, the
            // node-lifecycle controller marks the nodes NotReady after its 50 s grace period, and
            // every pod on them turns unready.
            '--node-lease-duration-seconds=40',
            '--server-address=',
            '--node-ip=127.0.0.1',
            '--cidr=10.244.0.1/16',
          ],
          { ...process.env, HOME: kwokHome },
        );
  const watch = [...ctx.running, kcm, scheduler, ...(kwok ? [kwok] : [])];
  const waitOpts = {
    timeoutMs: ctx.timeoutMs,
    maxIntervalMs: 500,
    intervalMs: 50,
    check: failIfExited(watch),
    details: logTails(watch),
  };

  const core = ctx.kubeConfig().makeApiClient(k8s.CoreV1Api);
  const nodes = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
  await Promise.all(nodes.map((name) => core.createNode({ body: kwokNode(name) })));
  const controllers = opts.controllers ?? DEFAULT_CONTROLLERS;
  const lifecycle = controllers.some((c) => c === 'node-lifecycle-controller' || c === 'nodelifecycle' || c === '*');
  if (count > 0)
    await waitFor(
      `${count} kwok node(s) Ready and untainted`,
      async () => {
        const list = await core.listNode();
        const ready = list.items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        if (!lifecycle) {
          // Nobody else lifts the not-ready taint that admission put on the new Nodes.
          for (const n of ready.filter((n) => n.spec?.taints?.length)) {
            await core.replaceNode({ name: n.metadata!.name!, body: { ...n, spec: { ...n.spec, taints: [] } } });
          }
        }
        return ready.length >= count && ready.every((n) => !n.spec?.taints?.length);
      },
      waitOpts,
    );
  // The serviceaccount controller runs once it creates default/default; pods need that SA.
  await waitFor(
    'kube-controller-manager (ServiceAccount default/default)',
    async () => {
      await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
      return true;
    },
    waitOpts,
  );
  return nodes;
}

function kwokNode(name: string): k8s.V1Node {
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: {},
    status: { allocatable: resources, capacity: resources },
  };
}
