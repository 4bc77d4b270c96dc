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
 * output, following the shell when another server takes it over. Keystrokes never leave the
 * page (and the server refuses them anyway). Its socket, its xterm, its timers and its pending
 * first draw are undone together by `close` (or its × button).
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
  // The view follows a shell that goes on under another server (its server stopped, or the
  // learner's page moved), and comes back after this page's own reconnect: it asks again until
  // the shell answers, for a minute.
  let following: { until: number; timer: number | undefined } | undefined;
  disposables.add(() => {
    window.clearTimeout(following?.timer);
  });
  const setStatus = (text: string, kind: 'ok' | 'info' | 'bad' | '') => {
    status.textContent = text;
    status.className = kind ? `badge ${kind}` : 'badge';
  };
  // Only the latest request's answer counts: a follow restarts the asking.
  let asking = 0;
  const ask = async (): Promise<void> => {
    const mine = ++asking;
    const reply = await socket.emitWithAck('watch', { namespace });
    if (disposables.disposed || mine !== asking) return;
    if (!reply.ok) {
      if (following && Date.now() < following.until) {
        following.timer = window.setTimeout(() => void ask(), 2000);
        return;
      }
      following = undefined;
      setStatus('Unavailable', '');
      term.write(`\x1b[2m${reply.error}\x1b[0m\r\n`);
      return;
    }
    following = undefined;
    unacked = 0;
    // The screen as the shell's server has it now, drawn afresh.
    term.reset();
    term.resize(reply.cols, reply.rows);
    term.write(reply.screen);
    setStatus('Watching', 'ok');
  };
  const follow = (why: string) => {
    window.clearTimeout(following?.timer);
    asking += 1;
    following = { until: Date.now() + 60_000, timer: undefined };
    setStatus('Following…', 'info');
    term.write(`\r\n\x1b[2m[${why} Following the terminal…]\x1b[0m\r\n`);
    following.timer = window.setTimeout(() => void ask(), 1000);
  };
  socket.on('ended', (ended: TerminalEnded) => {
    if (ended.reason === 'moved') {
      follow(ended.message);
      return;
    }
    setStatus('Ended', '');
    term.write(`\r\n\x1b[2m[${ended.message}]\x1b[0m\r\n`);
  });
  let connections = 0;
  socket.on('connect', () => {
    connections += 1;
    if (connections === 1) void ask();
    else follow('Reconnected.');
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
