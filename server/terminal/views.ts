/**
 * Why a terminal ended, as its viewers hear it (socket.io `ended`, server/protocol-terminal.ts).
 * A leaf the browser app's type check reads too: no imports.
 */

export interface TerminalEnded {
  reason: 'exited' | 'idle' | 'closed' | 'sandbox-deleted' | 'replaced' | 'error';
  message: string;
}
