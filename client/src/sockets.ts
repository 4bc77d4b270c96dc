import type { Socket } from 'socket.io-client';
import type { LiveClientEvents, LiveServerEvents, TerminalClientEvents, TerminalServerEvents } from '../../server/protocol.ts';

/** The browser's side of /terminal: terminal output arrives as an ArrayBuffer (socket.io binary). */
export type TerminalSocket = Socket<TerminalServerEvents<ArrayBuffer>, TerminalClientEvents>;

/** The browser's side of /live: check progress, the instructor's grid, workshop broadcasts. */
export type LiveSocket = Socket<LiveServerEvents, LiveClientEvents>;
