import { io, type Socket } from 'socket.io-client';
import type { TerminalAttachResponse, TerminalEnded, TerminalRunDone, TerminalRunResponse } from '../../server/protocol.ts';

/** A browser's view of a terminal, over the real socket.io transport. */
export class TerminalClient {
  readonly socket: Socket;
  output = '';
  bytes = 0;
  notices: string[] = [];
  ended: TerminalEnded | undefined;
  private autoAck: boolean;
  private counter = 0;

  constructor(baseUrl: string, cookie: string, options: { autoAck?: boolean } = {}) {
    this.autoAck = options.autoAck ?? true;
    this.socket = io(`${baseUrl}/terminal`, { extraHeaders: cookie ? { cookie } : {}, transports: ['websocket'], reconnection: false, forceNew: true });
    this.socket.on('output', (chunk: ArrayBuffer) => {
      this.output += Buffer.from(chunk).toString('utf8');
      this.bytes += chunk.byteLength;
      if (this.autoAck) this.socket.emit('ack', { bytes: chunk.byteLength });
    });
    this.socket.on('notice', (message: string) => this.notices.push(message));
    this.socket.on('ended', (ended: TerminalEnded) => {
      this.ended = ended;
    });
  }

  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => {
        resolve();
      });
      this.socket.once('connect_error', reject);
    });
  }

  async attach(namespace: string, cols = 120, rows = 32): Promise<TerminalAttachResponse> {
    await this.connected();
    return (await this.socket.emitWithAck('attach', { namespace, cols, rows })) as TerminalAttachResponse;
  }

  type(text: string): void {
    this.socket.emit('input', text);
  }

  /** Runs a command line and resolves with what it printed (up to a unique end marker). */
  async run(command: string, timeoutMs = 20_000): Promise<string> {
    this.counter += 1;
    const marker = `__KD_DONE_${this.counter}_${Date.now().toString(36)}__`;
    const start = this.output.length;
    // The marker is assembled by the shell, so the echoed command line never contains it.
    const [head, tail] = [marker.slice(0, 6), marker.slice(6)];
    this.type(`${command}; echo "${head}""${tail}"\n`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const index = this.output.indexOf(marker, start);
      if (index >= 0) return this.output.slice(start, index);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`"${command}" did not finish within ${timeoutMs} ms; output so far:\n${this.output.slice(start).slice(-2000)}`);
  }

  /**
   * Types a block through the server's runner (as "Run in my terminal" does): a command at a
   * time, each once the prompt is back. Resolves with the commands and their exit statuses.
   */
  async runBlock(text: string, timeoutMs = 600_000, source: 'block' | 'paste' = 'block'): Promise<{ commands: string[]; done: TerminalRunDone; output: string }> {
    const start = this.output.length;
    const reply = (await this.socket.emitWithAck('run', { text, source })) as TerminalRunResponse;
    if (!reply.ok) throw new Error(reply.error);
    if (reply.typed) throw new Error('the text was typed into a running program, not run as commands');
    const done = await new Promise<TerminalRunDone>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the block did not finish within ${timeoutMs} ms; output so far:\n${this.output.slice(start).slice(-3000)}`));
      }, timeoutMs);
      const listener = (event: TerminalRunDone) => {
        if (event.runId !== reply.runId) return;
        clearTimeout(timer);
        this.socket.off('run:done', listener);
        resolve(event);
      };
      this.socket.on('run:done', listener);
    });
    return { commands: reply.commands, done, output: this.output.slice(start) };
  }

  /** Pastes text as the browser does (multi-line): resolves whether it went to a running program as typed. */
  async paste(text: string): Promise<boolean> {
    const reply = (await this.socket.emitWithAck('run', { text, source: 'paste' })) as TerminalRunResponse;
    if (!reply.ok) throw new Error(reply.error);
    return reply.typed;
  }

  close(): void {
    this.socket.close();
  }
}
