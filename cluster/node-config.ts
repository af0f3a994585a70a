// The node tier's configuration files, rendered from plain values (no I/O here, so the unit
// tests check them as they are): containerd's config.toml, the CNI network list, the
// KubeletConfiguration, the KubeProxyConfiguration and CoreDNS's Corefile, plus the
// addresses the tier uses. node.ts writes them and runs the processes. See
// docs/test-cluster.md, "The node tier".
import { stringify } from 'yaml';

/** Pod network of the node: one bridge on this machine, no route or masquerade to the outside. */
export const POD_CIDR = '10.89.0.0/24';
/** The bridge's own address: pods' gateway, and where the apiserver, kubelet and CoreDNS listen. */
export const NODE_IP = '10.89.0.1';
/** The Linux bridge the tier creates (and removes); at most 15 characters. */
export const BRIDGE = 'kts-node0';
/** Name of the CNI network (host-local's state and libcni's cache are keyed on it). */
export const CNI_NETWORK = 'kts-node';
/** ClusterIP of the `kube-dns` Service in kube-system (kubelet's clusterDNS). */
export const CLUSTER_DNS_IP = '10.0.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/** The one real Node. */
export const NODE_NAME = 'real-node';
/** The pod sandbox image and the test image that scripts/node-build.sh makes (same names there). */
export const PAUSE_IMAGE = 'localhost/kube-tutorial-stack/pause:1.0';
export const PROBE_IMAGE = 'localhost/kube-tutorial-stack/probe:1.0';
/** Debian's CNI plugin binaries (containernetworking-plugins). */
export const CNI_BIN_DIR = '/usr/lib/cni';
export const RUNC = '/usr/sbin/runc';

/** Where the tier's files live, all under the control plane's directory. */
export interface NodePaths {
  /** <dir>/node */
  root: string;
  containerdConfig: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  cniConfDir: string;
  /** host-local's allocations */
  cniIpamDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeProxyConfig: string;
  corefile: string;
}

export function nodePaths(root: string): NodePaths {
  return {
    root,
    containerdConfig: `${root}/containerd/config.toml`,
    containerdRoot: `${root}/containerd/root`,
    containerdState: `${root}/containerd/state`,
    containerdSocket: `${root}/containerd/containerd.sock`,
    cniConfDir: `${root}/cni/net.d`,
    cniIpamDir: `${root}/cni/ipam`,
    kubeletRoot: `${root}/kubelet`,
    kubeletConfig: `${root}/kubelet-config.yaml`,
    kubeProxyConfig: `${root}/kube-proxy-config.yaml`,
    corefile: `${root}/Corefile`,
  };
}

const toml = (s: string) => JSON.stringify(s); // a TOML basic string is a JSON string for these paths

/**
 * containerd 1.6 (Debian's) as a plain process with everything under `paths`: its own socket,
 * root and state (network namespaces too), the CRI plugin with runc and the pause image, CNI
 * from Debian's plugins and a conf dir of its own (podman owns /etc/cni/net.d). No OOM score
 * changes, AppArmor or hugetlb (not available here); no listener but the socket.
 */
export function containerdConfig(paths: NodePaths): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `# written by cluster/node.ts for the node tier
version = 2
root = ${toml(paths.containerdRoot)}
state = ${toml(paths.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${toml(paths.containerdSocket)}

[ttrpc]
  address = ""

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${toml(`${paths.containerdRoot}/opt`)}

[${cri}]
  sandbox_image = ${toml(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  max_container_log_line_size = 16384

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
  discard_unpacked_layers = false

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  BinaryName = ${toml(RUNC)}
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = ${toml(CNI_BIN_DIR)}
  conf_dir = ${toml(paths.cniConfDir)}
  max_conf_num = 1
`;
}

/**
 * The pods' network: bridge + host-local on POD_CIDR, gateway NODE_IP, no masquerade and no
 * default route: pods get routes to their own subnet and to the Service range only, so a pod
 * cannot send anything off this machine. portmap for hostPort, loopback for lo.
 */
export function cniConfList(paths: NodePaths, serviceCidr: string): string {
  return (
    JSON.stringify(
      {
        cniVersion: '0.4.0',
        name: CNI_NETWORK,
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            isDefaultGateway: false,
            ipMasq: false,
            hairpinMode: true,
            promiscMode: false,
            ipam: {
              type: 'host-local',
              dataDir: paths.cniIpamDir,
              ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
              routes: [{ dst: serviceCidr }],
            },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: false },
        ],
      },
      null,
      2,
    ) + '\n'
  );
}

export interface KubeletConfigInput {
  paths: NodePaths;
  caCert: string;
  servingCert: string;
  servingKey: string;
  /** the kubelet's HTTPS port (10250 in real clusters; a free port here) */
  port: number;
  /** the kubelet's healthz port on 127.0.0.1 */
  healthzPort: number;
}

/**
 * KubeletConfiguration for this machine: cgroup v1 with the cgroupfs driver (no systemd),
 * swap tolerated, no OOM score changes, images never garbage-collected (they cannot be pulled
 * again), evictions only when almost nothing is left, serving on NODE_IP only with a cert of
 * our CA, x509 client auth (the apiserver's kubelet-client cert) and no anonymous access.
 */
export function kubeletConfig(input: KubeletConfigInput): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_IP,
    port: input.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: input.healthzPort,
    tlsCertFile: input.servingCert,
    tlsPrivateKeyFile: input.servingKey,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: input.caCert },
    },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${input.paths.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    oomScoreAdj: 0,
    protectKernelDefaults: false,
    clusterDomain: CLUSTER_DOMAIN,
    clusterDNS: [CLUSTER_DNS_IP],
    // no host resolv.conf: pods see only the cluster's search path and nameserver
    resolvConf: '',
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'nodefs.inodesFree': '1%',
      'imagefs.available': '1%',
    },
    maxPods: 110,
    serializeImagePulls: false,
    shutdownGracePeriod: '0s',
    shutdownGracePeriodCriticalPods: '0s',
    staticPodPath: '',
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    nodeStatusReportFrequency: '10s',
    logging: { format: 'text' },
  });
}

export interface KubeProxyConfigInput {
  kubeconfig: string;
  healthzPort: number;
  metricsPort: number;
  serviceCidr: string;
}

/**
 * KubeProxyConfiguration: iptables mode, NodePorts on NODE_IP only (not on the outside
 * interface, not on localhost, so route_localnet stays as it is), conntrack sysctls and OOM
 * score left alone (zero values), listeners on 127.0.0.1.
 */
export function kubeProxyConfig(input: KubeProxyConfigInput): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: input.kubeconfig },
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    healthzBindAddress: `127.0.0.1:${input.healthzPort}`,
    metricsBindAddress: `127.0.0.1:${input.metricsPort}`,
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    detectLocalMode: 'ClusterCIDR',
    nodePortAddresses: [`${NODE_IP}/32`],
    oomScoreAdj: 0,
    iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '0s' },
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: '0s',
      tcpCloseWaitTimeout: '0s',
      udpTimeout: '0s',
      udpStreamTimeout: '0s',
    },
  });
}

export interface CorefileInput {
  kubeconfig: string;
  healthPort: number;
  readyPort: number;
}

/**
 * CoreDNS on NODE_IP:53, authoritative for the cluster domain and the reverse zones from the
 * apiserver (kubernetes plugin), nothing else: other names are refused, never forwarded.
 */
export function corefile(input: CorefileInput): string {
  return `# written by cluster/node.ts for the node tier
${CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${NODE_IP}
    errors
    health 127.0.0.1:${input.healthPort}
    ready 127.0.0.1:${input.readyPort}
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${input.kubeconfig}
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
`;
}

/** The `kube-dns` Service (selectorless) and its EndpointSlice pointing at CoreDNS on NODE_IP. */
export function kubeDnsObjects(): { service: object; endpointSlice: object } {
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ];
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: { clusterIP: CLUSTER_DNS_IP, ports: ports.map((p) => ({ ...p, targetPort: 53 })) },
    },
    endpointSlice: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kube-dns-host',
        namespace: 'kube-system',
        labels: {
          'kubernetes.io/service-name': 'kube-dns',
          'endpointslice.kubernetes.io/managed-by': 'node-tier.kube-tutorial-stack',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [NODE_IP], conditions: { ready: true }, nodeName: NODE_NAME }],
      ports,
    },
  };
}
