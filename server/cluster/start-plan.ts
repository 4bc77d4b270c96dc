import { ComponentGraph } from './component-graph.ts';
import type { ControlPlaneId } from './components.ts';

/** The steps of `kubedojo cluster up` besides the control plane's processes. */
export type StartStep = ControlPlaneId | 'bootstrap' | 'node-pool' | 'metrics-api' | 'real-node';

/**
 * The embedded cluster's start graph: what each step needs running first. `up` starts along
 * it, in parallel where it allows; `down` stops along it backwards.
 */
export const CLUSTER_GRAPH = new ComponentGraph<StartStep>({
  etcd: [],
  'kube-apiserver': ['etcd'],
  'kube-controller-manager': ['kube-apiserver'],
  'kube-scheduler': ['kube-apiserver'],
  // The bootstrap objects (cheap and idempotent, so always: a deleted binding comes back) hold
  // kwok's and metrics-server's RBAC and kwok's usage objects: started without them, they back
  // off and the nodes and metrics come late.
  bootstrap: ['kube-apiserver'],
  kwok: ['bootstrap'],
  // The simulated nodes and the metrics API come up side by side, each after its own process.
  'node-pool': ['kwok'],
  'metrics-server': ['bootstrap'],
  'metrics-api': ['metrics-server'],
  // The real node joins a cluster that is otherwise complete.
  'real-node': ['kube-controller-manager', 'kube-scheduler', 'node-pool', 'metrics-api'],
});

export function isControlPlaneProcess(step: StartStep): step is ControlPlaneId {
  return step !== 'bootstrap' && step !== 'node-pool' && step !== 'metrics-api' && step !== 'real-node';
}
