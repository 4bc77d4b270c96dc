import type { ComponentResult } from './build.ts';
import type { ComponentId } from './components.ts';
import type { RealNodeReport } from './node/real-node.ts';

/** What `cluster up`, `down` and `status` report (their --json output). */

export type ComponentState = 'running' | 'unhealthy' | 'crashed' | 'stopped';

export interface ComponentStatus {
  id: ComponentId;
  state: ComponentState;
  pid: number | null;
  port: number | null;
  /** Where it listens or answers, when not 127.0.0.1:port. */
  where: string | null;
  detail: string | null;
  log: string;
  /** The end of the log when the component is not healthy. */
  lastLines: string[];
}

export interface ClusterStatus {
  state: 'running' | 'degraded' | 'stopped' | 'not-created';
  server: string | null;
  kubeconfig: string;
  kubernetesVersion: string | null;
  /** The real node, when the cluster has one. */
  realNode: { name: string; address: string } | null;
  components: ComponentStatus[];
}

export interface UpReport {
  alreadyRunning: boolean;
  started: ComponentId[];
  /** Components that had crashed and were started again. */
  repaired: ComponentId[];
  server: string;
  kubeconfig: string;
  durationMs: number;
  build: ComponentResult[];
  realNode: RealNodeReport | null;
  notes: string[];
}

export interface DownReport {
  stopped: { id: ComponentId; result: 'stopped' | 'killed' | 'not-running' }[];
  /** What the real node's teardown could not remove, each named. */
  leftovers: string[];
}
