// The node tier's rendered configuration (cluster/node-config.ts) and the pure parts of its
// host cleanup (cluster/node-host.ts): what each file says, and which iptables rules and
// chains the cleanup removes and which it leaves alone.
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  BRIDGE,
  CLUSTER_DNS_IP,
  NODE_IP,
  NODE_NAME,
  PAUSE_IMAGE,
  POD_CIDR,
  cniConfList,
  containerdConfig,
  corefile,
  kubeDnsObjects,
  kubeProxyConfig,
  kubeletConfig,
  nodePaths,
} from '../../../cluster/node-config';
import { iptablesCleanupScript, mountsUnder, parseIptablesSave } from '../../../cluster/node-host';

const paths = nodePaths('/tmp/kube-cp-node-x/node');

describe('node tier configuration', () => {
  it('keeps every containerd path under the tier directory and uses the local pause image', () => {
    const toml = containerdConfig(paths);
    expect(toml).toContain('root = "/tmp/kube-cp-node-x/node/containerd/root"');
    expect(toml).toContain('state = "/tmp/kube-cp-node-x/node/containerd/state"');
    expect(toml).toContain('address = "/tmp/kube-cp-node-x/node/containerd/containerd.sock"');
    expect(toml).toContain(`sandbox_image = "${PAUSE_IMAGE}"`);
    expect(toml).toContain('netns_mounts_under_state_dir = true');
    expect(toml).toContain('conf_dir = "/tmp/kube-cp-node-x/node/cni/net.d"');
    expect(toml).toContain('SystemdCgroup = false');
    // nothing under the host's default containerd, CNI or netns paths
    expect(toml).not.toMatch(/\/var\/lib\/containerd|\/run\/containerd|\/etc\/cni|\/var\/run\/netns/);
  });

  it('gives pods no default route and no masquerade: only their subnet and the Service range', () => {
    const conf = JSON.parse(cniConfList(paths, '10.0.0.0/24'));
    const bridge = conf.plugins[0];
    expect(bridge).toMatchObject({
      type: 'bridge',
      bridge: BRIDGE,
      isGateway: true,
      isDefaultGateway: false,
      ipMasq: false,
    });
    expect(bridge.ipam.ranges).toEqual([[{ subnet: POD_CIDR, gateway: NODE_IP }]]);
    expect(bridge.ipam.routes).toEqual([{ dst: '10.0.0.0/24' }]);
    expect(bridge.ipam.dataDir.startsWith(paths.root)).toBe(true);
    expect(conf.plugins.map((p: { type: string }) => p.type)).toEqual(['bridge', 'portmap']);
    expect(BRIDGE.length).toBeLessThanOrEqual(15);
  });

  it('renders a KubeletConfiguration for cgroup v1 without systemd, serving only on the node address', () => {
    const cfg = parse(
      kubeletConfig({
        paths,
        caCert: '/p/ca.crt',
        servingCert: '/p/k.crt',
        servingKey: '/p/k.key',
        port: 4321,
        healthzPort: 4322,
      }),
    );
    expect(cfg).toMatchObject({
      kind: 'KubeletConfiguration',
      address: NODE_IP,
      port: 4321,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      cgroupDriver: 'cgroupfs',
      failCgroupV1: false,
      failSwapOn: false,
      clusterDNS: [CLUSTER_DNS_IP],
      clusterDomain: 'cluster.local',
      resolvConf: '',
      containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
      authentication: { anonymous: { enabled: false }, x509: { clientCAFile: '/p/ca.crt' } },
    });
    // images cannot be pulled again, so they are never collected
    expect(cfg.imageGCHighThresholdPercent).toBe(100);
    expect(cfg.imageGCLowThresholdPercent).toBeLessThan(100);
  });

  it('renders kube-proxy in iptables mode with NodePorts on the node address and conntrack sysctls left alone', () => {
    const cfg = parse(
      kubeProxyConfig({ kubeconfig: '/k.yaml', healthzPort: 1, metricsPort: 2, serviceCidr: '10.0.0.0/24' }),
    );
    expect(cfg).toMatchObject({
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      hostnameOverride: NODE_NAME,
      clusterCIDR: POD_CIDR,
      nodePortAddresses: [`${NODE_IP}/32`],
      healthzBindAddress: '127.0.0.1:1',
      metricsBindAddress: '127.0.0.1:2',
      iptables: { localhostNodePorts: false },
    });
    expect(cfg.conntrack.maxPerCore).toBe(0);
    expect(cfg.conntrack.tcpEstablishedTimeout).toBe('0s');
  });

  it('makes CoreDNS authoritative for the cluster domain on the node address, with no forwarding', () => {
    const text = corefile({ kubeconfig: '/dns.yaml', healthPort: 11, readyPort: 12 });
    expect(text).toContain('cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {');
    expect(text).toContain(`bind ${NODE_IP}`);
    expect(text).toContain('kubeconfig /dns.yaml');
    expect(text).toContain('ready 127.0.0.1:12');
    expect(text).not.toMatch(/forward|\.:53/);
  });

  it('points the kube-dns Service at CoreDNS through a selectorless EndpointSlice', () => {
    const { service, endpointSlice } = kubeDnsObjects() as {
      service: { spec: { clusterIP: string; selector?: unknown } };
      endpointSlice: { metadata: { labels: Record<string, string> }; endpoints: { addresses: string[] }[] };
    };
    expect(service.spec.clusterIP).toBe(CLUSTER_DNS_IP);
    expect(service.spec.selector).toBeUndefined();
    expect(endpointSlice.metadata.labels['kubernetes.io/service-name']).toBe('kube-dns');
    expect(endpointSlice.endpoints[0].addresses).toEqual([NODE_IP]);
  });
});

const BEFORE = `# Generated by iptables-save
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
`;

const AFTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CNI-FORWARD - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -s 10.88.0.0/16 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -j KUBE-SVC-NPX46M4PTMTKRN6Y
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:KUBE-IPTABLES-HINT - [0:0]
COMMIT
`;

describe('node tier host cleanup', () => {
  it('parses iptables-save into chains and rules per table', () => {
    const t = parseIptablesSave(AFTER);
    expect(Object.keys(t)).toEqual(['filter', 'nat', 'mangle']);
    expect(t.nat.chains).toEqual(['PREROUTING', 'POSTROUTING', 'KUBE-SERVICES', 'KUBE-SVC-NPX46M4PTMTKRN6Y']);
    expect(t.filter.rules).toHaveLength(4);
  });

  it('removes the new KUBE- chains and the rules that jump to them, and nothing that was there or is not ours', () => {
    const script = iptablesCleanupScript(parseIptablesSave(BEFORE), parseIptablesSave(AFTER));
    expect(script.split('\n')).toEqual([
      '*filter',
      '-D FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      '-F KUBE-FORWARD',
      '-F KUBE-KUBELET-CANARY',
      '-X KUBE-FORWARD',
      '-X KUBE-KUBELET-CANARY',
      'COMMIT',
      '*nat',
      '-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-F KUBE-SERVICES',
      '-F KUBE-SVC-NPX46M4PTMTKRN6Y',
      '-X KUBE-SERVICES',
      '-X KUBE-SVC-NPX46M4PTMTKRN6Y',
      'COMMIT',
      '*mangle',
      '-F KUBE-IPTABLES-HINT',
      '-X KUBE-IPTABLES-HINT',
      'COMMIT',
      '',
    ]);
    // podman's rule (10.88.0.0/16) and the CNI-FORWARD chain that existed before stay
    expect(script).not.toContain('10.88.0.0');
    expect(script).not.toContain('CNI-FORWARD');
  });

  it('has nothing to do when nothing changed', () => {
    expect(iptablesCleanupScript(parseIptablesSave(AFTER), parseIptablesSave(AFTER))).toBe('');
  });

  it('lists mounts under a directory deepest first, decoding escaped spaces', () => {
    const mountinfo = [
      '22 1 8:1 / / rw - ext4 /dev/vda rw',
      '90 22 0:50 / /tmp/n/kubelet/pods/a/volumes/x rw - tmpfs tmpfs rw',
      '91 22 0:51 / /tmp/n/state/k8s.io/c1/rootfs rw - overlay overlay rw',
      '92 22 0:52 / /tmp/n/with\\040space rw - tmpfs tmpfs rw',
      '93 22 0:53 / /tmp/nn rw - tmpfs tmpfs rw',
    ].join('\n');
    expect(mountsUnder('/tmp/n', mountinfo)).toEqual([
      '/tmp/n/kubelet/pods/a/volumes/x',
      '/tmp/n/state/k8s.io/c1/rootfs',
      '/tmp/n/with space',
    ]);
  });
});
