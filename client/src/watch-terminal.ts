import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { io } from 'socket.io-client';
import { socketAuth } from './lti.ts';
import type { TerminalEnded } from '../../server/protocol.ts';
import type { TerminalSocket } from './sockets.ts';
import { Disposables } from './disposables.ts';
import { h } from './dom.ts';

/** A read-only terminal view on the page; `close` ends its connection and removes it. */
export interface WatchPanel {
  readonly root: HTMLElement;
  close(): void;
}

/**
 * An instructor's read-only view of a participant's terminal: the screen as it is, then live
 * output. Keystrokes never leave the page (and the server refuses them anyway). Its socket, its
 * xterm and its pending first draw are undone together by `close` (or its × button).
 */
export function watchTerminal(namespace: string, who: string): WatchPanel {
  const disposables = new Disposables();
  const status = h('span', { class: 'badge', role: 'status', 'data-testid': 'watch-state' }, 'Connecting…');
  const host = h('div', { class: 'watch-host', 'data-testid': 'watch-screen' });
  const closeButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close the view', 'data-testid': 'watch-close' }, '×');
  const root = h(
    'section',
    { class: 'watch-panel', 'aria-label': `Terminal of ${who}, read-only`, 'data-testid': 'watch-panel' },
    h('header', { class: 'terminal-bar' }, h('strong', {}, `${who}’s terminal`), h('code', { class: 'terminal-ns' }, namespace), status, h('span', { class: 'terminal-message' }, 'read-only'), h('span', { class: 'spacer' }), closeButton),
    host,
  );
  disposables.add(() => {
    root.remove();
  });
  const term = disposables.use(new Terminal({ disableStdin: true, cursorBlink: false, fontFamily: 'ui-monospace, Menlo, Consolas, monospace', fontSize: 13, scrollback: 2000 }));
  term.loadAddon(new FitAddon());
  // Its own connection, so closing it closes exactly this view's.
  const socket: TerminalSocket = io('/terminal', { transports: ['websocket'], auth: socketAuth, forceNew: true });
  disposables.add(() => {
    socket.close();
  });
  let unacked = 0;
  socket.on('output', (chunk: ArrayBuffer) => {
    const bytes = new Uint8Array(chunk);
    term.write(bytes, () => {
      unacked += bytes.byteLength;
      if (unacked >= 32 * 1024) {
        socket.emit('ack', { bytes: unacked });
        unacked = 0;
      }
    });
  });
  socket.on('ended', (ended: TerminalEnded) => {
    status.textContent = 'Ended';
    term.write(`\r\n\x1b[2m[${ended.message}]\x1b[0m\r\n`);
  });
  socket.on('connect', () => {
    void socket.emitWithAck('watch', { namespace }).then((reply) => {
      if (disposables.disposed) return;
      if (!reply.ok) {
        status.textContent = 'Unavailable';
        term.write(`\x1b[2m${reply.error}\x1b[0m\r\n`);
        return;
      }
      term.resize(reply.cols, reply.rows);
      term.write(reply.screen);
      status.textContent = 'Watching';
      status.className = 'badge ok';
    });
  });
  const frame = requestAnimationFrame(() => {
    term.open(host);
  });
  disposables.add(() => {
    cancelAnimationFrame(frame);
  });
  const close = () => {
    disposables.dispose();
  };
  disposables.listen(closeButton, 'click', close);
  return { root, close };
}

/** Where the room shows one watched terminal at a time: watching another closes the one before. */
export class WatchSlot {
  readonly root = h('div', { class: 'watch-slot' });
  private panel: WatchPanel | undefined;

  show(namespace: string, who: string): void {
    this.close();
    const panel = watchTerminal(namespace, who);
    this.panel = panel;
    this.root.replaceChildren(panel.root);
    this.root.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  }

  close(): void {
    this.panel?.close();
    this.panel = undefined;
    this.root.replaceChildren();
  }
}
