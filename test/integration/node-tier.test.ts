// The node tier (cluster/node.ts, docs/test-cluster.md): a control plane with one real node.
// Real pods from the locally built probe image run under containerd and runc, get Ready
// through a real readiness probe, resolve cluster names through CoreDNS, reach a ClusterIP
// Service through kube-proxy and the apiserver in-cluster with their ServiceAccount token;
// after stop() the machine is as it was. Needs root and scripts/node-build.sh: when the tier
// cannot start, beforeAll fails with the reason (nothing is skipped).
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLUSTER_DNS_IP,
  findBinaries,
  NODE_IP,
  NODE_LOCK,
  POD_CIDR,
  startControlPlane,
  type ControlPlane,
} from '../../cluster/controlplane';
import { NODE_BRIDGE } from '../../cluster/node';
import { cniCacheFiles, FORWARDING_SYSCTLS, otherBridges } from '../../cluster/node-host';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../support/shared';
import { waitFor } from '../support/wait';

jest.setTimeout(300_000);

// ---- the machine's state, read before start and after stop --------------------------

const SYSCTL_DIRS = [
  'kernel',
  'kernel/keys',
  'vm',
  'net/ipv4',
  'net/ipv4/conf/all',
  'net/ipv4/conf/default',
  'net/ipv6/conf/all',
  'net/ipv6/conf/default',
  'net/bridge',
  'net/netfilter',
];
// values that change by themselves
const VOLATILE =
  /^(kernel\/(ns_last_pid|random|pty|tainted|sched_)|net\/netfilter\/nf_conntrack_count|vm\/(stat_refresh|drop_caches))/;

function readSysctlTree(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of SYSCTL_DIRS) {
    if (!existsSync(`/proc/sys/${dir}`)) continue;
    for (const name of readdirSync(`/proc/sys/${dir}`)) {
      const key = `${dir}/${name}`;
      if (VOLATILE.test(key)) continue;
      try {
        if (!statSync(`/proc/sys/${key}`).isFile()) continue;
        out[key] = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
      } catch {
        // write-only or not readable
      }
    }
  }
  return out;
}

/** Lines of iptables-save/ip6tables-save that belong to the tier: KUBE- chains and rules, rules on the pod network. */
function tierIptables(): string[] {
  const lines: string[] = [];
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const text = execFileSync(save, { encoding: 'utf8' });
    lines.push(
      ...text.split('\n').filter((l) => /KUBE-|CNI-HOSTPORT|kts-node/.test(l) || l.includes(POD_CIDR.split('/')[0])),
    );
  }
  return lines;
}

/** nftables tables (the iptables-nft backend makes them on first use), if nft is installed. */
function nftTables(): string[] {
  try {
    return execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).trim().split('\n').sort();
  } catch {
    return [];
  }
}

function processesMentioning(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ').slice(0, 120)}`);
    } catch {
      // gone
    }
  }
  return found;
}

const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p && p.startsWith(dir));

const cgroupKubepods = () =>
  readdirSync('/sys/fs/cgroup')
    .map((h) => join('/sys/fs/cgroup', h, 'kubepods'))
    .filter((p) => existsSync(p));

/** The first directory named `name` at or under `root`. */
function findDir(root: string, name: string): string | undefined {
  if (!existsSync(root)) return undefined;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    if (e.name === name) return join(root, e.name);
    const found = findDir(join(root, e.name), name);
    if (found) return found;
  }
  return undefined;
}

// ---- pods -----------------------------------------------------------------------------

const isReady = (pod: k8s.V1Pod) =>
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

describe('node tier: one real node', () => {
  let cp: ControlPlane;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  // the machine before the tier changes it: taken once the tier holds the machine-wide lock
  // (another suite's node tier may run until then)
  let sysctlsBefore: Record<string, string> = {};
  let iptablesBefore: string[] = [];
  let kubepodsBefore: string[] = [];
  let cniCacheBefore: string[] = [];
  let nftTablesBefore: string[] = [];
  const snapshot = () => {
    sysctlsBefore = readSysctlTree();
    iptablesBefore = tierIptables();
    kubepodsBefore = cgroupKubepods();
    cniCacheBefore = cniCacheFiles();
    nftTablesBefore = nftTables();
  };
  const ns = 'node-tier-test';
  let dir = '';
  const log = (m: string) => process.stdout.write(`node-tier: ${m}\n`);

  beforeAll(async () => {
    const started = Date.now();
    cp = await startControlPlane({ tier: 'node', log, onNodeLock: snapshot });
    dir = cp.dir;
    log(
      `started in ${Date.now() - started} ms: ${JSON.stringify(cp.timings)} node ${JSON.stringify(cp.node?.timings)}`,
    );
    const kc = cp.kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
  }, 900_000);

  afterAll(async () => {
    await cp?.stop();
  });

  test('the real node is Ready, runs containerd, and the apiserver listens on the node address', async () => {
    const node = await core.readNode({ name: cp.node!.name });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(node.status?.nodeInfo?.kubeletVersion).toMatch(/^v1\.36\./);
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: NODE_IP });
    expect(node.spec?.taints ?? []).toEqual([]);
    expect(cp.server).toBe(`https://${NODE_IP}:${new URL(cp.server).port}`);
    // the kubernetes Service points at the apiserver on the node address
    const kubernetes = await core.readNamespacedEndpoints({ namespace: 'default', name: 'kubernetes' });
    expect(kubernetes.subsets?.[0]?.addresses?.[0]?.ip).toBe(NODE_IP);
    expect((await core.readNamespacedService({ namespace: 'kube-system', name: 'kube-dns' })).spec?.clusterIP).toBe(
      CLUSTER_DNS_IP,
    );
    expect(await cp.node!.images()).toEqual(expect.arrayContaining([cp.node!.pauseImage, cp.node!.probeImage]));
    // loadImage (what other suites use for their images) imports an OCI archive and names it
    expect(await cp.node!.loadImage(findBinaries('node').images.probe)).toEqual([cp.node!.probeImage]);
    await expect(cp.node!.loadImage('/nonexistent.oci.tar')).rejects.toThrow(/image archive not found/);
    // no kwok Nodes unless asked for
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).toEqual([cp.node!.name]);
  });

  test('probe pods run, get Ready through their readiness probe, and reach DNS, Services and the apiserver in-cluster', async () => {
    await core.createNamespace({
      body: { metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
    await waitFor(
      'ServiceAccount default',
      async () => !!(await core.readNamespacedServiceAccount({ namespace: ns, name: 'default' })),
      {
        timeoutMs: 60_000,
      },
    );
    const labels = { app: 'web' };
    const container: k8s.V1Container = {
      name: 'probe',
      image: cp.node!.probeImage,
      imagePullPolicy: 'Never',
      args: ['serve', '8080'],
      ports: [{ name: 'http', containerPort: 8080 }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
      securityContext: { ...restrictedContainerSecurityContext, readOnlyRootFilesystem: true },
      resources: { limits: { memory: '32Mi', cpu: '100m' } },
    };
    // a headless Service and a StatefulSet (pod DNS names web-0.web.<ns>), a ClusterIP Service
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'http', port: 8080 }] },
      },
    });
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web-svc' },
        spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    const created = Date.now();
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          serviceName: 'web',
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              securityContext: restrictedPodSecurityContext,
              containers: [container],
              terminationGracePeriodSeconds: 5,
            },
          },
        },
      },
    });
    let last: k8s.V1Pod | undefined;
    const web = await waitFor(
      'web-0 Ready',
      async () => {
        last = await core.readNamespacedPod({ namespace: ns, name: 'web-0' });
        return isReady(last) ? last : undefined;
      },
      { timeoutMs: 120_000, details: () => `last status: ${JSON.stringify(last?.status)}` },
    );
    log(`web-0 Ready ${Date.now() - created} ms after the StatefulSet was created (pod IP ${web.status?.podIP})`);
    expect(web.spec?.nodeName).toBe(cp.node!.name);
    const podIp = web.status!.podIP!;
    // the runtime applied the memory limit as a cgroup (v1 memory controller here, v2 elsewhere)
    const podCgroup = findDir('/sys/fs/cgroup/memory/kubepods', `pod${web.metadata!.uid}`);
    expect(podCgroup).toBeDefined();
    expect(readFileSync(join(podCgroup!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(32 * 1024 * 1024));
    expect(podIp.startsWith(POD_CIDR.split('.').slice(0, 3).join('.') + '.')).toBe(true);

    const svc = `web-svc.${ns}.svc.cluster.local`;
    const checks = [
      ['dns', 'kubernetes.default.svc.cluster.local'],
      ['dns', `web-0.web.${ns}.svc.cluster.local`],
      ['dns', svc],
      ['http', `http://${svc}/`],
      ['http', `http://web-0.web.${ns}.svc.cluster.local:8080/healthz`],
      ['apiserver', ns],
    ];
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'checker' },
        spec: {
          restartPolicy: 'Never',
          securityContext: restrictedPodSecurityContext,
          containers: [
            {
              name: 'probe',
              image: cp.node!.probeImage,
              imagePullPolicy: 'Never',
              args: ['--within', '60s', ...checks.flat()],
              securityContext: { ...restrictedContainerSecurityContext, readOnlyRootFilesystem: true },
            },
          ],
        },
      },
    });
    const phase = await waitFor(
      'checker pod finished',
      async () => {
        const p = (await core.readNamespacedPod({ namespace: ns, name: 'checker' })).status?.phase;
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      },
      { timeoutMs: 150_000 },
    );
    // the log comes from the kubelet through the apiserver (its kubelet client certificate)
    const output = await core.readNamespacedPodLog({ namespace: ns, name: 'checker' });
    log(`checker: ${phase}\n${output}`);
    const lines = output.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^ok dns kubernetes\.default\.svc\.cluster\.local 10\.0\.0\.1$/),
      `ok dns web-0.web.${ns}.svc.cluster.local ${podIp}`,
      expect.stringMatching(new RegExp(`^ok dns ${svc.replace(/\./g, '\\.')} 10\\.0\\.0\\.\\d+$`)),
      `ok http http://${svc}/ HTTP 200 hello from web-0`,
      `ok http http://web-0.web.${ns}.svc.cluster.local:8080/healthz HTTP 200 ok`,
      expect.stringMatching(
        new RegExp(`^ok apiserver ${ns} HTTP 201 .*"username":"system:serviceaccount:${ns}:default"`),
      ),
    ]);
    expect(phase).toBe('Succeeded');

    // kubectl exec and port-forward go apiserver -> kubelet (its serving cert) -> containerd
    const kubectl = (...args: string[]) =>
      execFileSync('kubectl', ['--kubeconfig', cp.kubeconfigPath, '-n', ns, ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    expect(kubectl('exec', 'web-0', '--', '/probe', 'tcp', `${svc}:80`)).toMatch(
      /^ok tcp web-svc\S+ 10\.0\.0\.\d+:80$/m,
    );
  });

  test('while it runs, the tier has changed the machine (what the next test checks is undone)', () => {
    expect(mountsUnder(dir).length).toBeGreaterThan(0); // pods' rootfs overlays, shm, token volumes
    expect(cgroupKubepods().length).toBeGreaterThan(kubepodsBefore.length);
    expect(tierIptables().filter((l) => l.startsWith(':KUBE-')).length).toBeGreaterThan(0);
    expect(existsSync(`/sys/class/net/${NODE_BRIDGE}`)).toBe(true);
    expect(processesMentioning(dir).length).toBeGreaterThan(0);
    expect(existsSync(NODE_LOCK)).toBe(true);
    // kubelet (protectKernelDefaults: false) sets kernel.panic=10 and vm.overcommit_memory=1
    const now = readSysctlTree();
    expect([now['kernel/panic'], now['vm/overcommit_memory']]).toEqual(['10', '1']);
  });

  test('stop() leaves the machine as it was: no processes, mounts, cgroups, bridge, iptables rules, lock; sysctls restored', async () => {
    const stopStart = Date.now();
    await cp.stop();
    log(`stopped in ${Date.now() - stopStart} ms`);
    // the control plane's watchdog (processes.ts) notices the removed directory within a second
    await waitFor('no process of the tier', () => processesMentioning(dir).length === 0, {
      timeoutMs: 5000,
      details: () => processesMentioning(dir).join('\n'),
    }).catch(() => undefined);
    expect(processesMentioning(dir)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/sys/class/net/${NODE_BRIDGE}`)).toBe(false);
    expect(tierIptables()).toEqual(iptablesBefore);
    expect(nftTables()).toEqual(nftTablesBefore);
    expect(cgroupKubepods()).toEqual(kubepodsBefore);
    expect(existsSync(NODE_LOCK)).toBe(false);
    expect(cniCacheFiles()).toEqual(cniCacheBefore);
    const after = readSysctlTree();
    // another tool's bridge (podman's, say) keeps forwarding on: the tier leaves it so
    const keepForwarding = otherBridges().length > 0;
    const changed = Object.keys(sysctlsBefore).filter(
      (k) => after[k] !== sysctlsBefore[k] && !(keepForwarding && FORWARDING_SYSCTLS.has(k)),
    );
    expect(changed.map((k) => `${k}: ${sysctlsBefore[k]} -> ${after[k]}`)).toEqual([]);
  });
});
