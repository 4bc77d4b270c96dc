import type { NodeDirs } from '../paths.ts';
import { CLUSTER_DNS_IP, CLUSTER_DOMAIN, NODE_NAME, NODE_PORTS, type NodeLayout } from './layout.ts';

/**
 * The real node's configuration files, rendered from its layout (pure: unit-tested). Each file
 * is read by its component at start; a change restarts that component.
 */

const q = (value: string): string => JSON.stringify(value);

/**
 * containerd 1.6 (Debian's) with its own root, state and socket, so it never meets another
 * containerd on the machine. restrict_oom_score_adj: these machines refuse a negative
 * oom_score_adj even to root, and the CRI asks -998 for the pause container.
 */
export function containerdConfig(dirs: NodeDirs, options: { pauseImage: string; runc: string; cniBinDir: string }): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${q(dirs.containerdRoot)}
state = ${q(dirs.containerdState)}
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${q(dirs.containerdSocket)}

[debug]
  level = "warn"

[metrics]
  address = ""

[${cri}]
  sandbox_image = ${q(options.pauseImage)}
  restrict_oom_score_adj = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  # exec, attach and port-forward streams: the kubelet proxies them; only the node's loopback.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  max_container_log_line_size = 16384
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = ${q(options.runc)}
        Root = ${q(`${dirs.containerdState}/runc`)}
  [${cri}.cni]
    bin_dir = ${q(options.cniBinDir)}
    conf_dir = ${q(dirs.cniConf)}
    max_conf_num = 1

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(`${dirs.root}/containerd/opt`)}
`;
}

/** bridge + host-local on the node's own Pod network; the host masquerades what leaves it. */
export function cniConfig(layout: NodeLayout, dirs: NodeDirs): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: `kubedojo-${layout.slot}`,
      plugins: [
        {
          type: 'bridge',
          bridge: layout.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: layout.podCidr, gateway: layout.podGateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: dirs.cniIpam,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface KubeletFiles {
  kubeconfig: string;
  clientCa: string;
  servingCert: string;
  servingKey: string;
  resolvConf: string;
}

/**
 * The kubelet on cgroup v1 without systemd (failCgroupV1: false, cgroupfs), in its own cgroup
 * root. Bounded: a Pod's processes (podPidsLimit), container logs (size and files), image GC
 * never (offline images cannot be pulled again), eviction on absolute free space.
 */
export function kubeletConfig(layout: NodeLayout, dirs: NodeDirs, files: KubeletFiles): string {
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: layout.cgroupRoot,
    containerRuntimeEndpoint: `unix://${dirs.containerdSocket}`,
    address: layout.nodeIp,
    port: NODE_PORTS.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: layout.nodeIp,
    healthzPort: NODE_PORTS.kubeletHealthz,
    tlsCertFile: files.servingCert,
    tlsPrivateKeyFile: files.servingKey,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true, cacheTTL: '30s' }, x509: { clientCAFile: files.clientCa } },
    authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '30s', cacheUnauthorizedTTL: '10s' } },
    clusterDNS: [CLUSTER_DNS_IP],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf: files.resolvConf,
    failSwapOn: false,
    podLogsDir: dirs.podLogs,
    maxPods: 110,
    podPidsLimit: 1024,
    containerLogMaxSize: '10Mi',
    containerLogMaxFiles: 3,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    imageMinimumGCAge: '8760h',
    evictionHard: { 'memory.available': '200Mi', 'nodefs.available': '1Gi', 'imagefs.available': '1Gi', 'nodefs.inodesFree': '1%' },
    nodeStatusMaxImages: -1,
    nodeStatusUpdateFrequency: '10s',
    serializeImagePulls: false,
    registerNode: true,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    enableDebuggingHandlers: true,
    kubeAPIQPS: 50,
    kubeAPIBurst: 100,
    shutdownGracePeriod: '0s',
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** kube-proxy in iptables mode inside the node; no localhost NodePorts (route_localnet stays off). */
export function kubeProxyConfig(layout: NodeLayout, kubeconfig: string): string {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig, qps: 50, burst: 100 },
    hostnameOverride: NODE_NAME,
    mode: 'iptables',
    clusterCIDR: layout.podCidr,
    detectLocalMode: 'ClusterCIDR',
    // NodePorts on the node's own address only (it has no other that matters).
    nodePortAddresses: ['primary'],
    healthzBindAddress: `${layout.nodeIp}:${NODE_PORTS.kubeProxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${NODE_PORTS.kubeProxyMetrics}`,
    iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '0s' },
    // The machine's conntrack table is the host's: leave its size alone.
    conntrack: { maxPerCore: 0, min: 0 },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * CoreDNS for cluster.local. Names outside the cluster go to the host's resolvers only when
 * the node can reach them (online); offline they fail at once instead of timing out.
 */
export function corefile(layout: NodeLayout, options: { kubeconfig: string; upstreams: string[] }): string {
  const forward = options.upstreams.length > 0 ? `    forward . ${options.upstreams.join(' ')} {\n      max_concurrent 1000\n    }\n` : '';
  return `.:${NODE_PORTS.dns} {
    bind ${layout.nodeIp}
    errors
    health ${layout.nodeIp}:${NODE_PORTS.corednsHealth}
    ready ${layout.nodeIp}:${NODE_PORTS.corednsReady}
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
      kubeconfig ${options.kubeconfig}
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
      ttl 30
    }
${forward}    cache 30
    loop
    reload
    loadbalance
}
`;
}

/** The host's nameservers a Pod can reach: not loopback ones (the node is another network). */
export function usableNameservers(resolvConf: string): string[] {
  return resolvConf
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((ip): ip is string => ip !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(ip) && !ip.startsWith('127.'));
}
