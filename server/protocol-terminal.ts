/**
 * The wire of terminals (socket.io namespace /terminal): what the browser sends, each payload's
 * zod schema (terminal/socket.ts parses every one before it reaches a shell), and what the
 * server answers and emits. Re-exported by protocol.ts for the client, as types.
 */

import { z } from 'zod';
import { namespaceName } from './fields.ts';
import type { TerminalEnded } from './terminal/views.ts';

export type { TerminalEnded };

export const MAX_INPUT_CHARS = 8192;
/** A block or a paste to type command by command: a lesson block is a few lines, a paste a page. */
export const MAX_RUN_CHARS = 64 * 1024;

const size = {
  cols: z.number().int().min(2, 'cols must be at least 2').max(500, 'cols must be at most 500'),
  rows: z.number().int().min(2, 'rows must be at least 2').max(200, 'rows must be at most 200'),
};

/** `attach`: open (or reattach to) the terminal of one of the learner's own sandboxes. */
export const terminalAttachSchema = z.strictObject({ namespace: namespaceName('namespace must be a namespace name'), ...size });
export type TerminalAttachRequest = z.infer<typeof terminalAttachSchema>;

/** `watch`: read-only, an instructor watching a participant's terminal. */
export const terminalWatchSchema = z.strictObject({ namespace: namespaceName('namespace must be a namespace name') });
export type TerminalWatchRequest = z.infer<typeof terminalWatchSchema>;

/** `input`: keystrokes. */
export const terminalInputSchema = z.string().max(MAX_INPUT_CHARS, `input must be at most ${MAX_INPUT_CHARS} characters per message`);

export const terminalResizeSchema = z.strictObject(size);
export type TerminalResize = z.infer<typeof terminalResizeSchema>;

/** `ack`: the browser has drawn this many more bytes of output (flow control). */
export const terminalAckSchema = z.strictObject({ bytes: z.number().int().min(0).max(64 * 1024 * 1024) });
export type TerminalAck = z.infer<typeof terminalAckSchema>;

/** `run`: type text into the shell a command at a time, each once the prompt is back. */
export const terminalRunSchema = z.strictObject({
  text: z.string({ error: 'text must be a string' }).min(1, 'text must not be empty').max(MAX_RUN_CHARS, `text must be at most ${MAX_RUN_CHARS} characters`),
  /** `paste`: pasted by the learner; typed as it is when the shell is not at its prompt (an editor). */
  source: z.enum(['block', 'paste'], { error: 'source must be "block" or "paste"' }),
});
export type TerminalRunRequest = z.infer<typeof terminalRunSchema>;

export type TerminalAttachResponse =
  | { ok: true; sessionId: string; backend: 'jail' | 'pod'; /** The screen so far (xterm serialize format). */ screen: string; cols: number; rows: number }
  | { ok: false; error: string; /** Set when the learner opened terminals too fast. */ retryAfterSeconds?: number };

export type TerminalRunResponse =
  | { ok: true; runId: string; commands: string[]; /** Typed as it is (the shell was busy with a program). */ typed: boolean }
  | { ok: false; error: string };

/** `run:progress`: a command finished with this exit status. */
export interface TerminalRunProgress {
  runId: string;
  index: number;
  exitCode: number;
}

/** `run:done`: every command ran, or the run stopped (`stopped` says why: the learner typed). */
export interface TerminalRunDone {
  runId: string;
  exitCodes: number[];
  stopped: string | null;
}

/** Browser → server; the server listens to `Untrusted<TerminalClientEvents>` (protocol.ts). */
export interface TerminalClientEvents {
  attach: (request: TerminalAttachRequest, reply: (response: TerminalAttachResponse) => void) => void;
  watch: (request: TerminalWatchRequest, reply: (response: TerminalAttachResponse) => void) => void;
  input: (data: string) => void;
  resize: (size: TerminalResize) => void;
  ack: (ack: TerminalAck) => void;
  close: () => void;
  run: (request: TerminalRunRequest, reply: (response: TerminalRunResponse) => void) => void;
}

/** Server → browser. Output is bytes: the server emits a Buffer, the browser receives an ArrayBuffer. */
export interface TerminalServerEvents<Bytes extends Uint8Array | ArrayBuffer = Uint8Array> {
  output: (chunk: Bytes) => void;
  ended: (ended: TerminalEnded) => void;
  notice: (message: string) => void;
  'run:progress': (progress: TerminalRunProgress) => void;
  'run:done': (done: TerminalRunDone) => void;
}
