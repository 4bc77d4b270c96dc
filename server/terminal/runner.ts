import { randomUUID } from 'node:crypto';
import type { TerminalSession } from './session.ts';

/**
 * Runs commands in a learner's shell the way a person types them: one command, then wait for the
 * prompt to come back, then the next. Pasting a whole block at once lets the first interactive
 * program (`kubectl exec -it …`) read the lines meant for the shell; this never does.
 *
 * The shells print an OSC 133 "command finished" mark with the exit status before each prompt
 * (`PROMPT_COMMAND`, the FinalTerm/VS Code shell-integration sequence that terminals ignore when
 * they do not use it), so the runner knows when the prompt is back and how the command ended.
 */

/** What PROMPT_COMMAND prints: ESC ] 133 ; D ; <status> BEL. */
export const PROMPT_MARK = String.raw`printf '\033]133;D;%s\007' "$?"`;
// ESC and BEL spelled out: the mark is control characters by definition.
const MARK = new RegExp(String.raw`\u001b\]133;D;(\d+)\u0007`, 'g');

export interface RunResult {
  exitCodes: number[];
  /** Why the run stopped before the end, or null. */
  stopped: string | null;
}

export class CommandRunner {
  private readonly session: TerminalSession;
  /** A mark has come since the last Enter: the shell waits at its prompt. */
  private prompt = false;
  /** The shell has shown a prompt at least once. */
  private started = false;
  private tail = '';
  private readonly onMark = new Set<(status: number) => void>();
  private readonly onStop = new Set<(why: string) => void>();
  /** Set while the runner itself writes, so its own input does not count as the learner's. */
  private writing = false;
  /** The run under way, if any (a token: a new run replaces it). */
  private current: object | undefined;

  constructor(session: TerminalSession) {
    this.session = session;
    // A shell joined through another replica printed its last prompt before we were here.
    if (session.joined !== undefined) {
      this.started = true;
      this.prompt = session.joined === 'prompt';
    }
    session.taps.output.add((chunk) => {
      this.output(chunk);
    });
    session.taps.input.add((data) => {
      if (this.writing) return;
      if (/[\r\n]/.test(data)) this.prompt = false;
      // The learner took over: the rest of the commands are theirs to type.
      if (this.current) this.stop('you typed in the terminal, so the rest was left to you');
    });
    void session.closed.then(() => {
      this.stop('the terminal closed');
    });
  }

  /**
   * A program has the terminal: the shell showed its prompt once and has not shown it since the
   * last Enter. Before the first prompt the shell is still starting, and what comes is for it.
   */
  get programRunning(): boolean {
    return this.started && !this.prompt;
  }

  private output(chunk: Buffer): void {
    // Marks are ASCII; latin1 keeps every byte as one character, so a split mark joins up.
    const text = this.tail + chunk.toString('latin1');
    let end = 0;
    for (const match of text.matchAll(MARK)) {
      end = (match.index) + match[0].length;
      this.prompt = true;
      this.started = true;
      const status = Number(match[1]);
      for (const listener of [...this.onMark]) listener(status);
    }
    this.tail = text.slice(Math.max(end, text.length - 24));
  }

  stop(why: string): void {
    for (const listener of [...this.onStop]) listener(why);
  }

  /** Resolves with the next mark's status, or rejects with why the run stopped. */
  private next(): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.onMark.delete(mark);
        this.onStop.delete(stop);
      };
      const mark = (status: number) => {
        done();
        resolve(status);
      };
      const stop = (why: string) => {
        done();
        reject(new Error(why));
      };
      this.onMark.add(mark);
      this.onStop.add(stop);
    });
  }

  /**
   * Types each command once the prompt is back; `each` hears every exit status. Only one run
   * at a time: a new one stops the last.
   */
  async run(viewerId: string, commands: readonly string[], each: (index: number, exitCode: number) => void): Promise<RunResult> {
    if (this.current) this.stop('another run started');
    const token = {};
    this.current = token;
    const exitCodes: number[] = [];
    try {
      for (const [index, command] of commands.entries()) {
        if (!this.prompt) await this.next();
        this.prompt = false;
        const finished = this.next();
        this.writing = true;
        // Ctrl+E Ctrl+U first: whatever was half-typed at the prompt goes, as a person would clear it.
        const accepted = this.session.input(viewerId, `\x05\x15${command}\n`);
        this.writing = false;
        if (!accepted) {
          this.stop('the terminal did not take the input');
          await finished.catch(() => undefined);
          return { exitCodes, stopped: 'the terminal did not take the input' };
        }
        const status = await finished;
        exitCodes.push(status);
        each(index, status);
      }
      return { exitCodes, stopped: null };
    } catch (error) {
      return { exitCodes, stopped: error instanceof Error ? error.message : String(error) };
    } finally {
      if (this.current === token) this.current = undefined;
      this.writing = false;
    }
  }
}

const runners = new WeakMap<TerminalSession, CommandRunner>();

/** The session's runner, made when the session starts so it has seen the first prompt. */
export function runnerOf(session: TerminalSession): CommandRunner {
  let runner = runners.get(session);
  if (!runner) {
    runner = new CommandRunner(session);
    runners.set(session, runner);
  }
  return runner;
}

export function newRunId(): string {
  return randomUUID();
}
