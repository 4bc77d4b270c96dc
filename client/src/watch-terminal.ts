import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { io, type Socket } from 'socket.io-client';
import { socketAuth } from './lti.ts';
import type { TerminalAttachResponse, TerminalEnded } from '../../server/protocol.ts';
import { h } from './dom.ts';

/**
 * An instructor's read-only view of a participant's terminal: the screen as it is, then live
 * output. Keystrokes never leave the page (and the server refuses them anyway).
 */
export function watchTerminal(namespace: string, who: string): { root: HTMLElement; close(): void } {
  const status = h('span', { class: 'badge', role: 'status', 'data-testid': 'watch-state' }, 'Connecting…');
  const host = h('div', { class: 'watch-host', 'data-testid': 'watch-screen' });
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close the view' }, '×');
  const root = h(
    'section',
    { class: 'watch-panel', 'aria-label': `Terminal of ${who}, read-only`, 'data-testid': 'watch-panel' },
    h('header', { class: 'terminal-bar' }, h('strong', {}, `${who}’s terminal`), h('code', { class: 'terminal-ns' }, namespace), status, h('span', { class: 'terminal-message' }, 'read-only'), h('span', { class: 'spacer' }), close),
    host,
  );
  const term = new Terminal({ disableStdin: true, cursorBlink: false, fontFamily: 'ui-monospace, Menlo, Consolas, monospace', fontSize: 13, scrollback: 2000 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  const socket: Socket = io('/terminal', { transports: ['websocket', 'polling'], auth: socketAuth });
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
    void (socket.emitWithAck('watch', { namespace }) as Promise<TerminalAttachResponse>).then((reply) => {
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
  requestAnimationFrame(() => {
    term.open(host);
  });
  const end = () => {
    socket.close();
    term.dispose();
    root.remove();
  };
  close.addEventListener('click', end);
  return { root, close: end };
}
