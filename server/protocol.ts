/**
 * Wire types of the REST API and socket.io events. The client imports these as types only;
 * the server builds responses that satisfy them.
 */

export interface ApiErrorBody {
  error: {
    code: 'invalid' | 'forbidden' | 'not_found' | 'conflict' | 'unavailable' | 'internal';
    message: string;
    /** For `invalid`: each problem with the field it concerns (a dotted path). */
    issues?: { field: string; message: string }[];
    details?: Record<string, unknown>;
  };
}

export interface HealthResponse {
  status: 'ok';
}

export interface ReadinessCheck {
  ok: boolean;
  message?: string;
}

export interface ReadyResponse {
  status: 'ready' | 'not-ready';
  checks: { database: ReadinessCheck; cluster: ReadinessCheck };
}

export type ClusterKind = 'embedded' | 'kubeconfig' | 'in-cluster';

export interface ClusterInfoResponse {
  kind: ClusterKind;
  /** Why this cluster was chosen. */
  reason: string;
  server: string | null;
  context: string | null;
  reachable: boolean;
  /** When unreachable: why, in the API's or the network's words. */
  problem: string | null;
  version: string | null;
  nodes: { total: number; ready: number; zones: string[] } | null;
}

export interface InstanceResponse {
  instanceId: string;
  createdAt: string;
  version: string;
}
