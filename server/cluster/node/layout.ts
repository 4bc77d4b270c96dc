import { SERVICE_CIDR } from '../pki.ts';

/**
 * Where the real node lives on this machine. The node is a network namespace of its own
 * (containerd, kubelet, kube-proxy, CoreDNS and the NetworkPolicy agent all run in it), joined
 * to the host by one veth pair. Several kubedojo clusters may share a machine (a developer's
 * `npm start` and the test suite), so each real node takes a free slot and its addresses,
 * names and cgroup from it: nothing of two nodes overlaps.
 *
 *   host   kdh<slot>  10.249.<slot>.1/30 ── eth0 10.249.<slot>.2/30  node netns "kubedojo-<slot>"
 *                                              cni0 10.250.<slot>.1/24 ── Pods 10.250.<slot>.2-254
 */

export const MAX_SLOTS = 64;
export const NODE_NAME = 'real-node';
/** Labels every node carries: "real" or "simulated", also shown as the node's role. */
export const NODE_KIND_LABEL = 'kubedojo.dev/node';
export const REGISTRY_ANNOTATION = 'kubedojo.dev/registry-access';
/** A sandbox's namespace annotation: "simulated" keeps its Pods off the real node. */
export const NAMESPACE_NODES_ANNOTATION = 'kubedojo.dev/nodes';
export const CLUSTER_DNS_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';

/** Ports inside the node's namespace: nothing else listens there, so they can be fixed. */
export const NODE_PORTS = {
  kubelet: 10250,
  kubeletHealthz: 10248,
  kubeProxyHealthz: 10256,
  kubeProxyMetrics: 10249,
  dns: 53,
  corednsHealth: 8080,
  corednsReady: 8181,
  networkPolicyMetrics: 9080,
} as const;

export interface NodeLayout {
  slot: number;
  netns: string;
  /** The netns's file, for nsenter. */
  netnsPath: string;
  hostVeth: string;
  nodeVeth: string;
  hostIp: string;
  nodeIp: string;
  linkCidr: string;
  podCidr: string;
  podGateway: string;
  bridge: string;
  serviceCidr: string;
  /** The node's cgroup, under every controller's hierarchy. */
  cgroupRoot: string;
  /** iptables chains of this node in the host's tables. */
  hostChain: string;
}

export function layoutFor(slot: number): NodeLayout {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) throw new RangeError(`slot must be 0..${MAX_SLOTS - 1}, got ${slot}`);
  return {
    slot,
    netns: `kubedojo-${slot}`,
    netnsPath: `/run/netns/kubedojo-${slot}`,
    hostVeth: `kdh${slot}`,
    nodeVeth: 'eth0',
    hostIp: `10.249.${slot}.1`,
    nodeIp: `10.249.${slot}.2`,
    linkCidr: `10.249.${slot}.0/30`,
    podCidr: `10.250.${slot}.0/24`,
    podGateway: `10.250.${slot}.1`,
    bridge: 'cni0',
    serviceCidr: SERVICE_CIDR,
    cgroupRoot: `/kubedojo-${slot}`,
    hostChain: `KUBEDOJO-${slot}`,
  };
}

/**
 * The preferred slot if it is free, else the highest slot not in use by another kubedojo's node
 * on this machine (from the top: away from the low slots other tools and older kubedojos take).
 */
export function pickSlot(used: ReadonlySet<number>, preferred: number | undefined): number | undefined {
  if (preferred !== undefined && !used.has(preferred) && preferred >= 0 && preferred < MAX_SLOTS) return preferred;
  for (let slot = MAX_SLOTS - 1; slot >= 0; slot -= 1) if (!used.has(slot)) return slot;
  return undefined;
}
