import { ComponentGraph } from '../component-graph.ts';

/** The real node's steps: its processes and the work between them. */
export type NodeUpStep =
  | 'api-bridge'
  | 'api-bridge-node'
  | 'containerd'
  | 'images'
  | 'node-objects'
  | 'kube-network-policies'
  | 'kubelet'
  | 'kube-proxy'
  | 'coredns'
  | 'ready';

/**
 * How the real node comes up: what each step needs first. `RealNode.up` runs along it, in
 * parallel where it allows.
 */
export const NODE_UP_GRAPH = new ComponentGraph<NodeUpStep>({
  // The host end of the API bridge, then its end inside the node's network namespace.
  'api-bridge': [],
  'api-bridge-node': ['api-bridge'],
  containerd: [],
  images: ['containerd'],
  // The node's own objects (its RBAC, the toolbox's ServiceAccount…) go through the host's client.
  'node-objects': [],
  // The NetworkPolicy agent before the kubelet: no Pod of the node runs a moment unfenced.
  'kube-network-policies': ['api-bridge-node', 'node-objects'],
  kubelet: ['api-bridge-node', 'containerd', 'images', 'kube-network-policies'],
  'kube-proxy': ['kubelet'],
  coredns: ['kubelet'],
  ready: ['kubelet'],
});

/** The real node's steps down: processes, then what they leave on the machine. */
export type NodeDownStep =
  | 'kubelet'
  | 'kube-proxy'
  | 'coredns'
  | 'pods'
  | 'kube-network-policies'
  | 'containerd'
  | 'shims'
  | 'api-bridge-node'
  | 'api-bridge'
  | 'mounts'
  | 'network';

/**
 * How the real node goes down, run forwards (each step after those it names). Not simply the
 * start graph backwards: the Pods are removed through the runtime between the kubelet's stop
 * (so nothing restarts them) and containerd's, and the machine's leftovers come last.
 */
export const NODE_DOWN_GRAPH = new ComponentGraph<NodeDownStep>({
  kubelet: [],
  'kube-proxy': ['kubelet'],
  coredns: ['kubelet'],
  pods: ['kubelet'],
  'kube-network-policies': ['pods'],
  containerd: ['pods', 'kube-network-policies'],
  shims: ['containerd'],
  'api-bridge-node': ['kube-proxy', 'coredns', 'kube-network-policies', 'shims'],
  'api-bridge': ['api-bridge-node'],
  mounts: ['shims'],
  network: ['api-bridge', 'mounts'],
});
