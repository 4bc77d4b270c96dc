import type { IncomingMessage } from 'node:http';
import type { DefaultEventsMap, Namespace, Server } from 'socket.io';
import type { z } from 'zod';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import { isAppError } from '../errors.ts';
import { socketSession } from '../auth/socket-session.ts';
import type { Logger } from '../logger.ts';
import { replyTo, type Untrusted } from '../protocol.ts';
import {
  terminalAckSchema,
  terminalAttachSchema,
  terminalInputSchema,
  terminalResizeSchema,
  terminalRunSchema,
  terminalWatchSchema,
  type TerminalClientEvents,
  type TerminalRunDone,
  type TerminalRunProgress,
  type TerminalServerEvents,
} from '../protocol-terminal.ts';
import type { SandboxService } from '../sandboxes/service.ts';
import type { TerminalManager } from './manager.ts';
import type { TerminalSession } from './session.ts';
import { splitCommands } from '../lessons/commands.ts';
import { newRunId, runnerOf } from './runner.ts';
import type { TerminalEnded } from './views.ts';
import { WatchRelay } from './watch-relay.ts';

interface SocketData {
  learner: Learner;
}

/**
 * /terminal as the server sees it: every payload from the browser is `unknown` until its schema
 * (protocol-terminal.ts) has parsed it, before it reaches a shell; what the server emits is typed.
 * This file is the socket edge: it, not the terminal domain below it, speaks the wire.
 */
type TerminalNamespace = Namespace<Untrusted<TerminalClientEvents>, TerminalServerEvents, DefaultEventsMap, SocketData>;

function problem(error: z.ZodError): string {
  return error.issues.map((i) => i.message).join('; ');
}

/** The /terminal socket.io namespace: authenticated by the web session, one viewer per socket. */
export function terminalNamespace(
  io: Server,
  deps: {
    learners: LearnerRepository;
    sandboxes: SandboxService;
    terminals: TerminalManager;
    logger: Logger;
    /** Whether this viewer may watch (read-only) the terminal of a sandbox that is not theirs: its workshop's instructor. */
    canWatch?: (viewer: Learner, namespace: string) => Promise<boolean>;
    /** Counts a terminal open against the learner's (and their address's) limit; rejects past it. */
    limitOpen?: (learner: Learner, request: IncomingMessage) => Promise<void>;
    /** socket.io spans several replicas (a cluster adapter): watch sessions other replicas hold (watch-relay.ts). */
    replicas?: boolean;
  },
): { close(): void } {
  const log = deps.logger.child({ component: 'terminal-socket' });
  const nsp = io.of('/terminal') as TerminalNamespace;
  nsp.use(socketSession(deps.learners, 'sign in (open a lesson) before opening a terminal'));
  const canWatch = deps.canWatch;
  const relay =
    deps.replicas === true && canWatch
      ? new WatchRelay({
          channel: {
            emit: (event, payload) => {
              nsp.serverSideEmit(event, payload);
            },
            ask: (event, payload) => nsp.serverSideEmitWithAck(event, payload) as Promise<unknown[]>,
            on: (event, listener) => {
              nsp.on(event, listener);
            },
            off: (event, listener) => {
              nsp.off(event, listener);
            },
          },
          terminals: deps.terminals,
          // The holder asks again whether this viewer may watch: it trusts no other replica's word for it.
          canWatch: async (viewerId, namespace) => {
            const viewer = await deps.learners.byId(viewerId);
            return viewer !== undefined && (await canWatch(viewer, namespace));
          },
          logger: deps.logger,
        })
      : undefined;
  relay?.start();

  nsp.on('connection', (socket) => {
    const learner = socket.data.learner;
    let session: TerminalSession | undefined;
    const viewerId = socket.id;
    const notice = (message: string) => socket.emit('notice', message);
    // Typing is activity (the instructor's grid shows it): at most one write a minute.
    let lastActivity = 0;
    const activity = () => {
      if (Date.now() - lastActivity < 60_000) return;
      lastActivity = Date.now();
      deps.learners.touch(learner.id).catch((error: unknown) => {
        log.warn({ err: error, learnerId: learner.id }, 'could not record terminal activity');
      });
    };

    socket.on('attach', async (request, reply) => {
      const respond = replyTo<TerminalClientEvents, 'attach'>(reply);
      const parsed = terminalAttachSchema.safeParse(request);
      if (!parsed.success) {
        respond({ ok: false, error: problem(parsed.error) });
        return;
      }
      try {
        await deps.limitOpen?.(learner, socket.request);
        await deps.sandboxes.getOwned(parsed.data.namespace, learner.id);
        const opened = await deps.terminals.open(parsed.data.namespace, { cols: parsed.data.cols, rows: parsed.data.rows });
        if (session && session !== opened) session.detach(viewerId);
        session = opened;
        const screen = await opened.snapshot();
        opened.attach({
          id: viewerId,
          send: (chunk) => socket.emit('output', chunk),
          end: (ended) => {
            socket.emit('ended', ended);
            if (ended.reason !== 'replaced') session = undefined;
          },
        });
        opened.resize(viewerId, parsed.data.cols, parsed.data.rows);
        respond({ ok: true, sessionId: opened.id, backend: opened.backend, screen, cols: opened.cols, rows: opened.rows });
        // Opened through another replica before: the same shell, but this server has no screen of it.
        if (opened.takeJoinNotice()) notice('reattached to your running shell');
      } catch (error) {
        if (!isAppError(error)) log.error({ err: error }, 'could not open a terminal');
        const retry = isAppError(error) ? error.details?.retryAfterSeconds : undefined;
        respond({ ok: false, error: isAppError(error) ? error.message : 'The terminal could not be started; it has been logged.', ...(typeof retry === 'number' ? { retryAfterSeconds: retry } : {}) });
      }
    });

    // An instructor's read-only view of a participant's terminal: the screen, then live output,
    // from the session here or, through the relay, from the replica that holds it. Each view has
    // its own watcher id, and only the latest view of this socket speaks to it.
    let watching: { ack(bytes: number): void; stop(): void } | undefined;
    let views = 0;
    socket.on('watch', async (request, reply) => {
      const respond = replyTo<TerminalClientEvents, 'watch'>(reply);
      const parsed = terminalWatchSchema.safeParse(request);
      if (!parsed.success) {
        respond({ ok: false, error: problem(parsed.error) });
        return;
      }
      const { namespace } = parsed.data;
      views += 1;
      const view = views;
      const watcherId = `${socket.id}:watch:${view}`;
      const current = () => view === views;
      watching?.stop();
      watching = undefined;
      const allowed = (await deps.canWatch?.(learner, namespace).catch(() => false)) ?? false;
      if (!allowed || !current()) {
        respond({ ok: false, error: `there is no terminal of ${namespace} you may watch` });
        return;
      }
      const send = (chunk: Buffer) => socket.emit('output', chunk);
      const end = (ended: TerminalEnded) => {
        if (!current()) return;
        socket.emit('ended', ended);
        watching = undefined;
      };
      const here = deps.terminals.get(namespace);
      // A session here in its grace period (the page moved on) is the last resort: the live one may be elsewhere.
      if (relay && !(here && !here.ended && here.attached)) {
        const remote = await relay.watch(namespace, learner.id, watcherId, { output: send, end });
        if (remote && !current()) relay.unwatch(watcherId);
        else if (remote) {
          watching = { ack: (bytes) => { relay.ack(watcherId, bytes); }, stop: () => { relay.unwatch(watcherId); } };
          respond({ ok: true, ...remote.view });
          remote.start();
          return;
        }
      }
      const target = deps.terminals.get(namespace);
      if (!target || target.ended || !current()) {
        respond({ ok: false, error: 'this learner has no terminal open right now' });
        return;
      }
      // Watching before the snapshot, in the same tick, every byte is in the screen or after it;
      // what comes before the screen has gone out waits for it.
      let held: Buffer[] | undefined = [];
      target.watch({ id: watcherId, send: (chunk) => (held ? held.push(chunk) : send(chunk)), end });
      watching = { ack: (bytes) => { target.ack(watcherId, bytes); }, stop: () => { target.unwatch(watcherId); } };
      const screen = await target.snapshot();
      if (!current()) {
        respond({ ok: false, error: 'another view replaced this one' });
        return;
      }
      respond({ ok: true, sessionId: target.id, backend: target.backend, screen, cols: target.cols, rows: target.rows });
      for (const chunk of held) send(chunk);
      held = undefined;
    });

    socket.on('input', (data) => {
      const parsed = terminalInputSchema.safeParse(data);
      if (!parsed.success) {
        notice(`input ignored: ${problem(parsed.error)}`);
        return;
      }
      if (watching && !session) {
        notice('this is a read-only view: you cannot type into a learner\'s terminal');
        return;
      }
      if (session && !session.input(viewerId, parsed.data)) notice('input dropped: typing faster than the terminal accepts');
      else if (session) activity();
    });

    // A block (or a multi-line paste) typed a command at a time, each once the prompt is back.
    socket.on('run', (request, reply) => {
      const respond = replyTo<TerminalClientEvents, 'run'>(reply);
      const parsed = terminalRunSchema.safeParse(request);
      if (!parsed.success) {
        respond({ ok: false, error: problem(parsed.error) });
        return;
      }
      if (!session || session.ended) {
        respond({ ok: false, error: 'no terminal is open: open it first' });
        return;
      }
      const runner = runnerOf(session);
      const runId = newRunId();
      // A paste while a program runs (an editor, a REPL) is that program's input, as it is; one
      // that comes while the shell is still starting waits for its first prompt, like a block.
      if (parsed.data.source === 'paste' && runner.programRunning) {
        session.input(viewerId, parsed.data.text);
        respond({ ok: true, runId, commands: [], typed: true });
        return;
      }
      const commands = splitCommands(parsed.data.text).map((c) => c.text);
      respond({ ok: true, runId, commands, typed: false });
      activity();
      void runner
        .run(viewerId, commands, (index, exitCode) => {
          const progress: TerminalRunProgress = { runId, index, exitCode };
          socket.emit('run:progress', progress);
        })
        .then((result) => {
          const done: TerminalRunDone = { runId, ...result };
          socket.emit('run:done', done);
        });
    });

    socket.on('resize', (data) => {
      const parsed = terminalResizeSchema.safeParse(data);
      if (!parsed.success) {
        notice(`resize ignored: ${problem(parsed.error)}`);
        return;
      }
      session?.resize(viewerId, parsed.data.cols, parsed.data.rows);
    });

    socket.on('ack', (data) => {
      const parsed = terminalAckSchema.safeParse(data);
      if (!parsed.success) return;
      session?.ack(viewerId, parsed.data.bytes);
      watching?.ack(parsed.data.bytes);
    });

    socket.on('close', () => {
      void session?.end({ reason: 'closed', message: 'The terminal was closed.' });
    });

    socket.on('disconnect', () => {
      session?.detach(viewerId);
      watching?.stop();
      watching = undefined;
    });
  });
  return {
    close() {
      relay?.close();
    },
  };
}
