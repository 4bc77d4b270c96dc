import { EventEmitter } from 'node:events';
import type { OpenTerminalRepository } from '../db/open-terminals.ts';
import type { Logger } from '../logger.ts';
import type { Sandbox, SandboxEvent, SandboxService } from '../sandboxes/service.ts';
import type { ShellBackend } from './backends.ts';
import type { HomeWrite } from './home.ts';
import type { Recording, RecordingStore } from './recorder.ts';
import { runnerOf } from './runner.ts';
import { TerminalSession, type SessionSettings } from './session.ts';

export type TerminalManagerEvents = {
  /** A session opened or ended here, once its mark in the database says so (the grid follows it). */
  change: [{ namespace: string; open: boolean }];
};

/**
 * The live terminal sessions, one per sandbox, and how they start and end. Each one opened or
 * ended is marked in the database (open-terminals.ts) when given one, so whether a sandbox's
 * terminal is open is known on every replica, not only on the one holding it.
 */
export class TerminalManager extends EventEmitter<TerminalManagerEvents> {
  private readonly sandboxes: SandboxService;
  private readonly backend: ShellBackend;
  private readonly recordings: RecordingStore;
  private readonly settings: SessionSettings;
  private readonly log: Logger;
  private readonly sessions = new Map<string, TerminalSession>();
  private readonly opening = new Map<string, Promise<TerminalSession>>();
  private readonly lastTouch = new Map<string, number>();
  /** Sessions that ended and whose processes are still being killed: a new one waits for them. */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly openTerminals: OpenTerminalRepository | undefined;
  /** The database marks of each sandbox, written one after another (an end never overtakes the next open). */
  private readonly marks = new Map<string, Promise<void>>();

  constructor(deps: { sandboxes: SandboxService; backend: ShellBackend; recordings: RecordingStore; settings: SessionSettings; logger: Logger; openTerminals?: OpenTerminalRepository | undefined }) {
    super();
    this.openTerminals = deps.openTerminals;
    this.sandboxes = deps.sandboxes;
    this.backend = deps.backend;
    this.recordings = deps.recordings;
    this.settings = deps.settings;
    this.log = deps.logger.child({ component: 'terminals' });
    this.sandboxes.on('event', this.onSandbox);
  }

  /** A sandbox deleted or reset ends its session; one extended gets fresh credentials. */
  private readonly onSandbox = (event: SandboxEvent): void => {
    const session = this.sessions.get(event.namespace);
    if (event.type === 'deleted' || event.type === 'reset') {
      void (async () => {
        await session?.end({ reason: 'sandbox-deleted', message: event.type === 'reset' ? 'The sandbox was reset.' : 'The sandbox was deleted.' });
        await this.backend.forget(event.namespace).catch(() => undefined);
      })();
    } else if (session && event.type === 'extended') {
      session.refreshCredentials().catch((error: unknown) => {
        this.log.warn({ err: error, namespace: event.namespace }, 'could not refresh the terminal credentials');
      });
    }
  };

  get backendKind(): 'jail' | 'pod' {
    return this.backend.kind;
  }

  get count(): number {
    return this.sessions.size;
  }

  /** A file into the sandbox's home, through its backend (Save to my home). */
  writeFile(sandbox: Sandbox, relative: string, content: string, overwrite: boolean): Promise<HomeWrite> {
    return this.backend.writeFile(sandbox, relative, content, overwrite);
  }

  get(namespace: string): TerminalSession | undefined {
    return this.sessions.get(namespace);
  }

  /** Of these sandboxes, those whose terminal is open on any replica (on this one only, without a database to ask). */
  async openAmong(namespaces: readonly string[]): Promise<Set<string>> {
    const here = namespaces.filter((n) => this.sessions.has(n));
    if (!this.openTerminals) return new Set(here);
    const anywhere = await this.openTerminals.openAmong(namespaces).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not read which terminals are open on the other replicas');
      return new Set<string>();
    });
    for (const n of here) anywhere.add(n);
    return anywhere;
  }

  /** Sessions open on every replica (this one's alone without a database to ask, or when it fails). */
  async openCount(): Promise<number> {
    if (!this.openTerminals) return this.sessions.size;
    return this.openTerminals.count().catch(() => this.sessions.size);
  }

  /** Records in the database that a session opened or ended here, then says so ('change'). */
  private mark(namespace: string, open: boolean): void {
    const repository = this.openTerminals;
    const write = async () => {
      if (repository) await (open ? repository.opened(namespace) : repository.closed(namespace));
    };
    const next = (this.marks.get(namespace) ?? Promise.resolve())
      .then(write)
      .catch((error: unknown) => {
        this.log.warn({ err: error, namespace, open }, 'could not mark the terminal open or closed for the other replicas');
      })
      .then(() => {
        if (this.marks.get(namespace) === next) this.marks.delete(namespace);
        this.emit('change', { namespace, open });
      });
    this.marks.set(namespace, next);
  }

  /** The sandbox's session, started on first use. Concurrent callers share one start. */
  open(namespace: string, size: { cols: number; rows: number }): Promise<TerminalSession> {
    const live = this.sessions.get(namespace);
    if (live && !live.ended) return Promise.resolve(live);
    let pending = this.opening.get(namespace);
    if (!pending) {
      pending = this.start(namespace, size).finally(() => this.opening.delete(namespace));
      this.opening.set(namespace, pending);
    }
    return pending;
  }

  private async start(namespace: string, size: { cols: number; rows: number }): Promise<TerminalSession> {
    await this.closing.get(namespace);
    const sandbox = await this.sandboxes.get(namespace);
    const kubeconfig = await this.sandboxes.kubeconfigFor(namespace);
    const shell = await this.backend.open(sandbox, kubeconfig, size);
    let recording: Recording;
    try {
      recording = await this.recordings.start({ namespace, learnerKey: sandbox.learnerKey, lesson: sandbox.lesson, cols: size.cols, rows: size.rows });
    } catch (error) {
      // No session holds the shell yet: end it here, or it would outlive the failed start.
      await shell.kill();
      throw error;
    }
    const session = new TerminalSession({
      namespace,
      backend: this.backend.kind,
      shell,
      recording,
      settings: this.settings,
      logger: this.log,
      cols: size.cols,
      rows: size.rows,
      // A shell that exits because its sandbox went (the toolbox Pod with the namespace) says so.
      exitReason: async () => {
        const gone = await this.sandboxes.get(namespace).then(
          (s) => s.state === 'terminating',
          () => true,
        );
        return gone ? { reason: 'sandbox-deleted', message: 'The sandbox was deleted.' } : { reason: 'exited', message: 'The shell exited.' };
      },
      onEnd: (ended) => {
        if (this.sessions.get(namespace) === ended) {
          this.sessions.delete(namespace);
          this.mark(namespace, false);
        }
        const closed = ended.closed.finally(() => {
          if (this.closing.get(namespace) === closed) this.closing.delete(namespace);
        });
        this.closing.set(namespace, closed);
        this.log.info({ namespace, reason: ended.ended?.reason }, 'terminal ended');
      },
    });
    session.onActivity = () => {
      const now = Date.now();
      if (now - (this.lastTouch.get(namespace) ?? 0) < 60_000) return;
      this.lastTouch.set(namespace, now);
      this.sandboxes.touch(namespace).catch(() => undefined);
    };
    // From the first byte, so the runner has seen the first prompt.
    runnerOf(session);
    this.sessions.set(namespace, session);
    this.mark(namespace, true);
    this.log.info({ namespace, backend: this.backend.kind }, 'terminal started');
    return session;
  }

  /**
   * Ends every session here and stops following the sandboxes. A toolbox shell is only let go:
   * it waits in its Pod, and the page reattaches to it through another replica (or this one,
   * restarted). A jailed shell lives in this process's machine and ends with it.
   */
  async close(): Promise<void> {
    this.sandboxes.off('event', this.onSandbox);
    const mode = this.backend.kind === 'pod' ? 'detach' : 'kill';
    await Promise.all([...this.sessions.values()].map((s) => s.end({ reason: 'closed', message: 'The server is shutting down.' }, mode)));
    await Promise.all(this.marks.values());
  }
}

