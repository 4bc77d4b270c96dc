/**
 * Why a terminal ended, as its viewers hear it (socket.io `ended`, server/protocol-terminal.ts).
 * A leaf the browser app's type check reads too: no imports.
 */

export interface TerminalEnded {
  /** `moved`: this view ended but the shell goes on under another server; a view may follow it. */
  reason: 'exited' | 'idle' | 'closed' | 'sandbox-deleted' | 'replaced' | 'error' | 'moved';
  message: string;
}
