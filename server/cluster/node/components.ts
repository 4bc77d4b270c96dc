import path from 'node:path';
import type { NodeBinaries } from '../build.ts';
import type { ComponentDefinition } from '../components.ts';
import type { NodeDirs } from '../paths.ts';
import type { Pki } from '../pki.ts';
import { NODE_NAME, NODE_PORTS, type NodeLayout } from './layout.ts';

/**
 * The real node's processes. All but the host side of the API bridge run inside the node's
 * network namespace (nsenter --net: the host's mounts are kept, so the runtime sees the
 * kubelet's volume mounts). Listeners are on the node's address or its loopback, never the host's.
 */

export const TOOLS = {
  nsenter: '/usr/bin/nsenter',
  socat: '/usr/bin/socat',
  containerd: '/usr/bin/containerd',
  ctr: '/usr/bin/ctr',
  runc: '/usr/sbin/runc',
  cniBinDir: '/usr/lib/cni',
  iptables: '/usr/sbin/iptables',
  conntrack: '/usr/sbin/conntrack',
  ip: '/usr/sbin/ip',
} as const;

export interface NodeFiles {
  containerdConfig: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  kubeProxyConfig: string;
  kubeProxyKubeconfig: string;
  corefile: string;
  corednsKubeconfig: string;
  networkPoliciesKubeconfig: string;
  /** The unix socket that carries the node's API traffic to the API server on the host. */
  apiSocket: string;
}

export function nodeFiles(dirs: NodeDirs): NodeFiles {
  const f = (name: string) => path.join(dirs.root, 'config', name);
  return {
    containerdConfig: dirs.containerdConfig,
    kubeletConfig: f('kubelet.json'),
    kubeletKubeconfig: f('kubelet.kubeconfig'),
    kubeProxyConfig: f('kube-proxy.json'),
    kubeProxyKubeconfig: f('kube-proxy.kubeconfig'),
    corefile: f('Corefile'),
    corednsKubeconfig: f('coredns.kubeconfig'),
    networkPoliciesKubeconfig: f('kube-network-policies.kubeconfig'),
    apiSocket: path.join(dirs.root, 'api.sock'),
  };
}

export interface NodeComponentContext {
  layout: NodeLayout;
  dirs: NodeDirs;
  files: NodeFiles;
  pki: Pki;
  apiPort: number;
  binaries: NodeBinaries;
  /** Labels the kubelet registers the node with. */
  labels: Record<string, string>;
}

const nodeEnv = (home: string): Record<string, string> => ({
  // kube-proxy and the kubelet call iptables, conntrack, mount; containerd calls runc.
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: home,
  TMPDIR: '/tmp',
  LANG: 'C.UTF-8',
});

export function nodeComponentDefinitions(ctx: NodeComponentContext): ComponentDefinition[] {
  const { layout: l, dirs, files, binaries } = ctx;
  const inNode = (binary: string, args: string[]) => ({ binary: TOOLS.nsenter, args: [`--net=${l.netnsPath}`, '--', binary, ...args] });
  const env = nodeEnv(dirs.root);
  const at = (port: number) => `${l.nodeIp}:${port}`;
  const labels = Object.entries(ctx.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

  return [
    {
      id: 'api-bridge',
      binary: TOOLS.socat,
      // The host side: a unix socket only the node's processes (root) can open.
      args: [`UNIX-LISTEN:${files.apiSocket},fork,mode=600,unlink-early`, `TCP:127.0.0.1:${ctx.apiPort}`],
      port: ctx.apiPort,
      where: files.apiSocket,
      health: { url: `unix://${files.apiSocket}` },
      startTimeoutMs: 10_000,
      group: true,
      readsPki: false,
      env,
    },
    {
      id: 'api-bridge-node',
      ...inNode(TOOLS.socat, [`TCP-LISTEN:${ctx.apiPort},fork,reuseaddr`, `UNIX-CONNECT:${files.apiSocket}`]),
      port: ctx.apiPort,
      where: `${at(ctx.apiPort)} in the node`,
      health: { url: `tcp://${at(ctx.apiPort)}` },
      startTimeoutMs: 10_000,
      group: true,
      readsPki: false,
      env,
    },
    {
      id: 'containerd',
      ...inNode(TOOLS.containerd, ['--config', files.containerdConfig]),
      port: 0,
      where: dirs.containerdSocket,
      health: { url: `unix://${dirs.containerdSocket}` },
      startTimeoutMs: 30_000,
      stopGraceMs: 15_000,
      readsPki: false,
      configFiles: [files.containerdConfig],
      env,
    },
    {
      id: 'kube-network-policies',
      ...inNode(binaries.kubeNetworkPolicies, [
        `--kubeconfig=${files.networkPoliciesKubeconfig}`,
        `--hostname-override=${NODE_NAME}`,
        // containerd 1.6 has no NRI; Pod IPs come from the API.
        '--disable-nri',
        `--metrics-bind-address=${at(NODE_PORTS.networkPolicyMetrics)}`,
        // Kernels from 6.12 do not need the DNS race work-around.
        '--netfilter-bug-1766-fix=false',
        '--v=0',
      ]),
      port: NODE_PORTS.networkPolicyMetrics,
      where: `${at(NODE_PORTS.networkPolicyMetrics)} in the node`,
      health: { url: `http://${at(NODE_PORTS.networkPolicyMetrics)}/metrics` },
      startTimeoutMs: 30_000,
      configFiles: [files.networkPoliciesKubeconfig],
      env,
    },
    {
      id: 'kubelet',
      ...inNode(binaries.kubelet, [
        `--config=${files.kubeletConfig}`,
        `--kubeconfig=${files.kubeletKubeconfig}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${l.nodeIp}`,
        `--root-dir=${dirs.kubeletRoot}`,
        `--cert-dir=${path.join(dirs.root, 'kubelet-pki')}`,
        `--node-labels=${labels}`,
        '--v=0',
      ]),
      port: NODE_PORTS.kubelet,
      where: `${at(NODE_PORTS.kubelet)} in the node`,
      health: { url: `http://${at(NODE_PORTS.kubeletHealthz)}/healthz` },
      startTimeoutMs: 60_000,
      stopGraceMs: 15_000,
      configFiles: [files.kubeletConfig, files.kubeletKubeconfig],
      env,
    },
    {
      id: 'kube-proxy',
      ...inNode(binaries.kubeProxy, [`--config=${files.kubeProxyConfig}`, '--v=0']),
      port: NODE_PORTS.kubeProxyHealthz,
      where: `${at(NODE_PORTS.kubeProxyHealthz)} in the node`,
      health: { url: `http://${at(NODE_PORTS.kubeProxyHealthz)}/healthz` },
      startTimeoutMs: 60_000,
      configFiles: [files.kubeProxyConfig, files.kubeProxyKubeconfig],
      env,
    },
    {
      id: 'coredns',
      ...inNode(binaries.coredns, ['-conf', files.corefile]),
      port: NODE_PORTS.dns,
      where: `${at(NODE_PORTS.dns)} in the node`,
      health: { url: `http://${at(NODE_PORTS.corednsHealth)}/health` },
      startTimeoutMs: 30_000,
      configFiles: [files.corefile, files.corednsKubeconfig],
      env,
    },
  ];
}
