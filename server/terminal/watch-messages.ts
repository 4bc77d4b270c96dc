import { z } from 'zod';
import type { TerminalEnded } from './views.ts';

/**
 * What replicas say to each other about a watched terminal (watch-relay.ts), over socket.io's
 * server-side events. Each message is checked here: nothing another process sends is trusted.
 */

/** The replicas, as the relay uses them: socket.io's serverSideEmit on /terminal. */
export interface ReplicaChannel {
  emit(event: string, payload: unknown): void;
  /** Every other replica's answer (those that answered in time, when some did not). */
  ask(event: string, payload: unknown): Promise<unknown[]>;
  on(event: string, listener: (payload: unknown, ack?: unknown) => void): void;
  off(event: string, listener: (payload: unknown, ack?: unknown) => void): void;
}

export interface WatchSink {
  output(chunk: Buffer): void;
  end(ended: TerminalEnded): void;
}

export interface WatchedView {
  sessionId: string;
  backend: 'jail' | 'pod';
  screen: string;
  cols: number;
  rows: number;
}

export const EV = { watch: 'kd:watch', output: 'kd:watch-output', end: 'kd:watch-end', ack: 'kd:watch-ack', unwatch: 'kd:unwatch', alive: 'kd:watch-alive' } as const;
/** Output is gathered this long (or up to MAX_BATCH bytes) into one message between replicas. */
export const BATCH_MS = 25;
export const MAX_BATCH = 256 * 1024;
/** A gap in the sequence that lasts this long means lost output: the view ends. */
export const GAP_MS = 10_000;
/** Acknowledgements go back in batches: at this many bytes, or after ACK_MS. */
export const ACK_BATCH = 32 * 1024;
export const ACK_MS = 200;
/**
 * How often a watcher's replica asks whether the holder still serves it: a holder that crashed
 * sends no end, so without asking the view would freeze for good. Two missed answers in a row
 * (each waits for the adapter's request timeout) end the view, so one slow answer does not.
 */
export const ALIVE_MS = 10_000;
export const ALIVE_MISSES = 2;

const id = z.string().min(1).max(200);
export const watchRequest = z.strictObject({ namespace: z.string().min(1).max(63), viewerId: id, watcherId: id });
export const watchReply = z.union([
  z.strictObject({ ok: z.literal(false) }),
  z.strictObject({ ok: z.literal(true), holder: id, attached: z.boolean(), sessionId: id, backend: z.enum(['jail', 'pod']), screen: z.string(), cols: z.number().int().positive(), rows: z.number().int().positive() }),
]);
export type WatchReply = z.infer<typeof watchReply>;
export const outputMessage = z.strictObject({ watcherId: id, holder: id, seq: z.number().int().nonnegative(), data: z.base64() });
const endReasons = ['exited', 'idle', 'closed', 'sandbox-deleted', 'replaced', 'error', 'moved'] as const satisfies readonly TerminalEnded['reason'][];
export const endMessage = z.strictObject({ watcherId: id, holder: id, sent: z.number().int().nonnegative(), ended: z.strictObject({ reason: z.enum(endReasons), message: z.string().max(500) }) });
export const ackMessage = z.strictObject({ watcherId: id, holder: id, bytes: z.number().int().positive() });
export const unwatchMessage = z.strictObject({ watcherId: id, holder: id });
/** "Do you still serve this watcher?": every replica answers; only the holder can say yes. */
export const aliveRequest = z.strictObject({ watcherId: id, holder: id });
export const aliveReply = z.strictObject({ holder: id, serving: z.boolean() });
