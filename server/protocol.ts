/**
 * The wire: what the REST API and the socket.io namespaces send and accept. Each request's zod
 * schema lives once in a protocol-<domain>.ts file beside this one, its type inferred from it;
 * routes validate() with those schemas (and the OpenAPI document is built from them). Responses
 * are the domain's own view types (<domain>/views.ts, vocabulary.ts), re-exported here.
 *
 * Protocol sits at the http level: it may read domain types, services never import it. The
 * client imports these files with `import type` only, so zod never reaches its bundle.
 */

import type { ClusterKind } from './vocabulary.ts';

export type { CheckKind, CheckStatus, ClusterKind, LearnerKind, LessonLevel, Role, SandboxNodes, SandboxSize, SandboxState, WorkshopState } from './vocabulary.ts';

export interface ApiErrorBody {
  error: {
    code: 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable' | 'internal';
    message: string;
    /** For `invalid`: each problem with the field it concerns (a dotted path). */
    issues?: { field: string; message: string }[];
    details?: Record<string, unknown>;
  };
}

export interface HealthResponse {
  status: 'ok';
}

interface ReadinessCheck {
  ok: boolean;
  message?: string;
}

export interface ReadyResponse {
  status: 'ready' | 'not-ready';
  checks: { database: ReadinessCheck; cluster: ReadinessCheck };
}

export interface ClusterInfoResponse {
  kind: ClusterKind;
  /** Why this cluster was chosen. */
  reason: string;
  /** The API server's address and the kubeconfig context: for admins only (null for everyone else). */
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

// ---- socket.io: what arrives from a browser is untrusted -------------------------------------

type Listener = (...args: never[]) => unknown;
/** Every argument `unknown`; a last argument that is an ack stays `unknown` too (a client may send anything there). */
type UntrustedArgs<A extends unknown[]> = A extends [...infer Rest, infer Last] ? (Last extends Listener ? [...{ [K in keyof Rest]: unknown }, unknown] : { [K in keyof A]: unknown }) : [];

/**
 * A client-to-server event map as the server listens to it: every payload `unknown`, to be
 * parsed with its zod schema, and the ack an `unknown` the handler checks is a function
 * (replyTo). The emitting side (the browser's socket) keeps the precise map.
 */
export type Untrusted<Events> = { [E in keyof Events]: Events[E] extends (...args: infer A) => void ? (...args: UntrustedArgs<A>) => void : never };

/** What an event's ack carries back, from the shared map. */
export type AckOf<Events, E extends keyof Events> = Events[E] extends (...args: infer A) => void ? (A extends [...unknown[], (response: infer R) => void] ? R : never) : never;

/** The ack of an untrusted event, typed by the shared map; a no-op when the client sent none. */
export function replyTo<Events, E extends keyof Events>(reply: unknown): (response: AckOf<Events, E>) => void {
  return (response) => {
    if (typeof reply === 'function') (reply as (r: AckOf<Events, E>) => void)(response);
  };
}

// ---- the rest of the wire, by domain ----------------------------------------------------------
export type * from './protocol-auth.ts';
export type * from './protocol-lessons.ts';
export type * from './protocol-sandboxes.ts';
export type * from './protocol-terminal.ts';
export type * from './protocol-blocks.ts';
export type * from './protocol-checks.ts';
export type * from './protocol-workshops.ts';
export type * from './protocol-admin.ts';
export type * from './protocol-lti.ts';
