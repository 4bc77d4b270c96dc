import type { TerminalRunDone, TerminalRunProgress } from '../../server/protocol.ts';
import type { TerminalSocket } from './sockets.ts';

interface Pending {
  commands: string[];
  resolve: (summary: string) => void;
}

function short(command: string): string {
  const first = command.split('\n')[0] ?? '';
  return first.length > 50 ? `${first.slice(0, 47)}…` : first;
}

/** What a run did, in one sentence for the learner (and their screen reader). */
export function runSummary(commands: readonly string[], done: TerminalRunDone): string {
  const n = commands.length;
  const failed = done.exitCodes.map((code, i) => ({ code, command: commands[i] ?? '' })).filter((r) => r.code !== 0);
  const failures = failed.length > 0 ? ` ${failed.length === 1 ? 'One' : String(failed.length)} did not succeed: ${failed.map((f) => `${short(f.command)} (exit ${f.code})`).join(', ')}.` : '';
  if (done.stopped) return `Stopped after ${done.exitCodes.length} of ${n} command${n === 1 ? '' : 's'}: ${done.stopped}.${failures}`;
  return `Ran ${n === 1 ? 'the command' : `all ${n} commands`} in your terminal.${failures}`;
}

/**
 * Sends text to the server's command runner (server/terminal/runner.ts), which types it a
 * command at a time, each once the prompt is back; progress shows in the dock's status line.
 */
export class RunClient {
  private readonly socket: TerminalSocket;
  private readonly note: (text: string) => void;
  private readonly pending = new Map<string, Pending>();

  constructor(socket: TerminalSocket, note: (text: string) => void) {
    this.socket = socket;
    this.note = note;
    socket.on('run:progress', (progress: TerminalRunProgress) => {
      const run = this.pending.get(progress.runId);
      if (!run) return;
      const next = run.commands[progress.index + 1];
      this.note(next !== undefined ? `Running ${progress.index + 2} of ${run.commands.length}: ${short(next)}` : '');
    });
    socket.on('run:done', (done: TerminalRunDone) => {
      const run = this.pending.get(done.runId);
      if (!run) return;
      this.pending.delete(done.runId);
      const summary = runSummary(run.commands, done);
      this.note(summary);
      run.resolve(summary);
    });
  }

  async run(text: string, source: 'block' | 'paste'): Promise<string> {
    const reply = await this.socket.emitWithAck('run', { text, source });
    if (!reply.ok) {
      this.note(reply.error);
      return reply.error;
    }
    if (reply.typed) {
      const typed = 'Pasted into the program that runs in your terminal.';
      this.note(typed);
      return typed;
    }
    if (reply.commands.length === 0) return 'There was no command to run.';
    this.note(`Running 1 of ${reply.commands.length}: ${short(reply.commands[0] ?? '')}`);
    return new Promise((resolve) => this.pending.set(reply.runId, { commands: reply.commands, resolve }));
  }
}
