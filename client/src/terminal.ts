import '@xterm/xterm/css/xterm.css';
import '@fontsource/jetbrains-mono/400.css';
import '@fontsource/jetbrains-mono/700.css';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import { io } from 'socket.io-client';
import { socketAuth } from './lti.ts';
import { storedGet, storedSet } from './storage.ts';
import type { TerminalEnded } from '../../server/protocol.ts';
import type { TerminalSocket } from './sockets.ts';
import { Disposables } from './disposables.ts';
import { h } from './dom.ts';
import { RunClient } from './terminal-run.ts';
import { terminalKeys, TERMINAL_FONT } from './terminal-keys.ts';

type State = 'connecting' | 'connected' | 'reconnecting' | 'ended';

const stateText: Record<State, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  ended: 'Ended',
};

/** Remembers, for this tab, which sandbox's terminal was open: a reload reopens it. */
const OPEN_KEY = 'kubedojo.terminal';

/** Acknowledge drawn output in batches: the server pauses the shell when the browser lags. */
const ACK_EVERY = 32 * 1024;

/**
 * The learner's terminal: xterm.js over socket.io to the sandbox's shell. The shell belongs to
 * the sandbox, not to this page: a reload or a dropped connection reattaches to the same shell
 * and the server restores the screen. Keystrokes go through one listener for the dock's life,
 * whatever the state (a reattach or a restart adds none); everything the dock sets up (socket,
 * xterm, resize observer, listeners, timers) is kept in `disposables` and undone by `dispose`.
 */
export class TerminalDock {
  readonly root: HTMLElement;
  private readonly namespace: string;
  private readonly term: Terminal;
  private readonly fit = new FitAddon();
  private readonly socket: TerminalSocket;
  private readonly badge: HTMLElement;
  private readonly message: HTMLElement;
  private readonly host: HTMLElement;
  private readonly disposables = new Disposables();
  private state: State = 'connecting';
  /** The shell ended by itself: Enter starts a new one. */
  private restartable = false;
  private unacked = 0;
  private ackTimer: number | undefined;
  /** The reattach after the shell moved to another server. */
  private moveTimer: number | undefined;
  private pending: { text: string; resolve: (summary: string) => void }[] = [];
  private readonly runs: RunClient;
  /** Resolves once xterm is open in the page (after the bundled font has loaded, so cells are measured with it). */
  private opened: Promise<void> = Promise.resolve();

  constructor(namespace: string) {
    this.namespace = namespace;
    this.badge = h('span', { class: 'badge', 'data-testid': 'terminal-state', role: 'status' }, stateText.connecting);
    this.message = h('span', { class: 'terminal-message', 'aria-live': 'polite' });
    this.host = h('div', { class: 'terminal-host', 'data-testid': 'terminal' });
    const fullscreen = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Full screen', 'aria-pressed': 'false', title: 'Full screen' }, '⤢');
    const hide = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Hide the terminal (the shell keeps running)', title: 'Hide' }, '×');
    // A focusable separator carries its value: the dock's width in pixels (arrow keys change it).
    const grip = h('div', { class: 'terminal-grip', role: 'separator', 'aria-orientation': 'vertical', 'aria-label': 'Resize the terminal', tabindex: '0', 'aria-valuemin': '320', 'aria-valuemax': String(Math.max(320, window.innerWidth - 320)), 'aria-valuenow': String(Math.round(window.innerWidth * 0.46)) });
    this.root = h(
      'aside',
      { class: 'terminal-dock', 'aria-label': 'Terminal', 'data-testid': 'terminal-dock' },
      grip,
      h('header', { class: 'terminal-bar' }, h('strong', {}, 'Terminal'), h('code', { class: 'terminal-ns' }, namespace), this.badge, this.message, h('span', { class: 'spacer' }), fullscreen, hide),
      this.host,
    );
    fullscreen.addEventListener('click', () => {
      const on = this.root.classList.toggle('fullscreen');
      fullscreen.setAttribute('aria-pressed', String(on));
      this.refit();
      this.term.focus();
    });
    hide.addEventListener('click', () => {
      this.root.hidden = true;
      document.body.classList.remove('with-terminal');
      storedSet('session', OPEN_KEY, null);
    });
    this.resizable(grip);

    const dark = document.documentElement.dataset.theme === 'dark';
    this.term = this.disposables.use(new Terminal({
      cursorBlink: true,
      // Bundled, so every machine draws the same glyphs in cells measured for them: with a
      // fallback font the DOM renderer's rows clipped underscores ("database operator.py").
      fontFamily: TERMINAL_FONT,
      fontSize: 14,
      scrollback: 5000,
      theme: dark ? { background: '#0f1115', foreground: '#e6e9ef' } : { background: '#1b1f24', foreground: '#e6e9ef' },
      allowProposedApi: false,
    }));
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new WebLinksAddon());
    this.disposables.use(
      this.term.onData((data) => {
        this.input(data);
      }),
    );

    this.socket = io('/terminal', { transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 3000, auth: socketAuth });
    this.disposables.add(() => {
      this.socket.close();
    });
    this.disposables.add(() => {
      window.clearTimeout(this.ackTimer);
      window.clearTimeout(this.moveTimer);
    });
    this.runs = new RunClient(this.socket, (text) => {
      this.note(text);
    });
    this.root.querySelector('.terminal-bar .spacer')?.before(...terminalKeys(this.term, this.host, this.root));
    this.socket.on('connect', () => {
      void this.opened.then(() => this.attach());
    });
    this.socket.on('disconnect', () => {
      if (this.state !== 'ended') this.setState('reconnecting');
    });
    this.socket.on('connect_error', (error: Error) => {
      this.setState('reconnecting');
      this.note(error.message);
    });
    this.socket.on('output', (chunk: ArrayBuffer) => {
      const bytes = new Uint8Array(chunk);
      this.term.write(bytes, () => {
        this.acknowledge(bytes.length);
      });
    });
    this.socket.on('ended', (ended: TerminalEnded) => {
      if (ended.reason === 'moved') {
        // The shell goes on under another server: attach to it there.
        this.setState('reconnecting');
        this.note(ended.message);
        window.clearTimeout(this.moveTimer);
        this.moveTimer = window.setTimeout(() => void this.attach(), 1000);
        return;
      }
      this.setState('ended');
      this.restartable = true;
      this.note(ended.message);
      this.term.write(`\r\n\x1b[2m[${ended.message} Press Enter to start a new shell.]\x1b[0m\r\n`);
    });
    this.socket.on('notice', (notice: string) => {
      this.note(notice);
    });
  }

  /** Puts the terminal on the page (once) and connects. */
  mount(parent: HTMLElement): void {
    parent.append(this.root);
    document.body.classList.add('with-terminal');
    this.opened = document.fonts
      .load(`14px ${TERMINAL_FONT}`)
      .catch(() => [])
      .then(() => {
        // Closed while the font loaded: nothing to open.
        if (this.disposables.disposed) return;
        this.term.open(this.host);
        this.refit();
        const resized = new ResizeObserver(() => {
          this.refit();
        });
        resized.observe(this.host);
        this.disposables.add(() => {
          resized.disconnect();
        });
        // A multi-line paste runs command by command, like a block (the server types each line
        // once the prompt is back); inside a running program it is typed as it is.
        this.disposables.listen(
          this.host,
          'paste',
          (event) => {
            const text = event.clipboardData?.getData('text/plain') ?? '';
            if (!text.replace(/\n+$/, '').includes('\n') || this.state !== 'connected') return;
            event.preventDefault();
            event.stopImmediatePropagation();
            void this.runs.run(text, 'paste');
          },
          { capture: true },
        );
        this.term.focus();
      });
  }

  show(): void {
    this.root.hidden = false;
    document.body.classList.add('with-terminal');
    this.refit();
    this.term.focus();
  }

  /**
   * Types a block into the shell a command at a time, each once the prompt is back ("Run in my
   * terminal"); resolves with what happened, in a sentence.
   */
  run(text: string): Promise<string> {
    this.show();
    if (this.state !== 'connected') return new Promise((resolve) => this.pending.push({ text, resolve }));
    return this.runs.run(text, 'block');
  }

  dispose(): void {
    this.disposables.dispose();
    this.root.remove();
    document.body.classList.remove('with-terminal');
  }

  /**
   * What a keystroke does: typed into the shell when connected; Enter starts a new shell once
   * the last one ended; otherwise it is not sent, and the dock says so.
   */
  private input(data: string): void {
    if (this.state === 'connected') {
      this.socket.emit('input', data);
      return;
    }
    this.note('Not connected: input was not sent.');
    if (this.restartable && data === '\r') void this.attach();
  }

  private async attach(): Promise<void> {
    if (this.disposables.disposed) return;
    this.restartable = false;
    this.setState(this.state === 'ended' ? 'connecting' : this.state);
    const reply = await this.socket.emitWithAck('attach', { namespace: this.namespace, cols: this.term.cols, rows: this.term.rows });
    if (!reply.ok) {
      this.setState('ended');
      this.note(reply.error);
      return;
    }
    // The server's copy of the screen: the same shell, as it was left.
    this.term.reset();
    if (reply.screen) this.term.write(reply.screen);
    this.unacked = 0;
    this.setState('connected');
    this.note('');
    for (const { text, resolve } of this.pending.splice(0)) void this.runs.run(text, 'block').then(resolve);
  }

  private acknowledge(bytes: number): void {
    this.unacked += bytes;
    if (this.unacked >= ACK_EVERY) {
      this.flushAck();
      return;
    }
    window.clearTimeout(this.ackTimer);
    this.ackTimer = window.setTimeout(() => {
      this.flushAck();
    }, 50);
  }

  private flushAck(): void {
    window.clearTimeout(this.ackTimer);
    if (this.unacked > 0 && this.socket.connected) this.socket.emit('ack', { bytes: this.unacked });
    this.unacked = 0;
  }

  private refit(): void {
    if (this.root.hidden || !this.host.isConnected) return;
    try {
      this.fit.fit();
    } catch {
      return;
    }
    if (this.state === 'connected') this.socket.emit('resize', { cols: this.term.cols, rows: this.term.rows });
  }

  private setState(state: State): void {
    this.state = state;
    this.badge.textContent = stateText[state];
    this.badge.className = `badge ${state === 'connected' ? 'ok' : state === 'ended' ? 'bad' : 'info'}`;
    this.root.dataset.state = state;
  }

  private note(text: string): void {
    this.message.textContent = text;
  }

  /** Drag (or arrow keys on) the left edge to change the dock's width. */
  private resizable(grip: HTMLElement): void {
    const setWidth = (px: number) => {
      const width = Math.min(Math.max(px, 320), window.innerWidth - 320);
      document.documentElement.style.setProperty('--terminal-width', `${width}px`);
      grip.setAttribute('aria-valuenow', String(Math.round(width)));
      grip.setAttribute('aria-valuemax', String(Math.max(320, window.innerWidth - 320)));
      this.refit();
    };
    grip.addEventListener('pointerdown', (event) => {
      grip.setPointerCapture(event.pointerId);
      const move = (e: PointerEvent) => {
        setWidth(window.innerWidth - e.clientX);
      };
      grip.addEventListener('pointermove', move);
      grip.addEventListener(
        'pointerup',
        () => {
          grip.removeEventListener('pointermove', move);
        },
        { once: true },
      );
    });
    grip.addEventListener('keydown', (event) => {
      const width = this.root.getBoundingClientRect().width;
      if (event.key === 'ArrowLeft') setWidth(width + 40);
      if (event.key === 'ArrowRight') setWidth(width - 40);
    });
  }
}

let dock: TerminalDock | undefined;

/** The page's one terminal, for a sandbox. */
export function openTerminal(namespace: string): TerminalDock {
  storedSet('session', OPEN_KEY, namespace);
  if (dock && dock.root.isConnected && dock.root.dataset.namespace === namespace) {
    dock.show();
    return dock;
  }
  dock?.dispose();
  dock = new TerminalDock(namespace);
  dock.root.dataset.namespace = namespace;
  dock.mount(document.body);
  return dock;
}

export function currentTerminal(): TerminalDock | undefined {
  return dock?.root.isConnected ? dock : undefined;
}

/** Reopens the terminal after a reload if it was open for this sandbox. */
export function restoreTerminal(namespace: string): void {
  if (storedGet('session', OPEN_KEY) === namespace) openTerminal(namespace);
}

export function closeTerminal(): void {
  storedSet('session', OPEN_KEY, null);
  dock?.dispose();
  dock = undefined;
}
