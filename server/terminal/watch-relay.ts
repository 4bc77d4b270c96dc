import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { TerminalManager } from './manager.ts';
import { HIGH_WATER, type TerminalSession, type Viewer } from './session.ts';
import type { TerminalEnded } from './views.ts';
import { ACK_BATCH, ACK_MS, ackMessage, ALIVE_MISSES, ALIVE_MS, aliveReply, aliveRequest, BATCH_MS, endMessage, EV, GAP_MS, MAX_BATCH, outputMessage, unwatchMessage, watchReply, watchRequest, type ReplicaChannel, type WatchedView, type WatchReply, type WatchSink } from './watch-messages.ts';

/**
 * An instructor's read-only view of a learner's terminal held by another replica.
 *
 * Why this way: the replica holding the session asks nothing of the shell; it relays what its
 * session already has, over socket.io's server-side events, which the PostgreSQL adapter
 * carries between replicas. So the view starts with the holder's headless screen (the
 * alternative, a read-only dtach attach from the watcher's replica, would start blank, would
 * resize the learner's pty to the watcher's, and would not exist for jailed shells), the
 * session's own rule drops a watcher that falls behind (its acknowledgements travel back), and
 * nothing crosses the database unless someone watches. Every message is validated; the holder
 * checks again that the viewer runs the sandbox's workshop, and a watcher is only ever a
 * session's watcher: it cannot type.
 *
 * Messages go out on several pooled connections and attachments are read back asynchronously,
 * so they may arrive out of order: output carries a sequence number per watcher, and the
 * watcher's replica delivers it in order, after its answer to `watch` (the screen).
 */

/** The holder's side of one remote watcher: the session it watches and its batched output. */
interface Served {
  session: TerminalSession;
  pending: Buffer[];
  size: number;
  sent: number;
  timer: NodeJS.Timeout | undefined;
}

/** The watcher's side: output in order, held until the screen has gone out. */
interface Watching {
  sink: WatchSink;
  holder: string | undefined;
  ready: boolean;
  next: number;
  early: Map<string, Map<number, Buffer>>;
  earlyBytes: number;
  endAfter: { sent: number; ended: TerminalEnded } | undefined;
  gap: NodeJS.Timeout | undefined;
  /** Bytes the browser drew and the holder has not heard of yet (sent in batches). */
  acked: number;
  ackTimer: NodeJS.Timeout | undefined;
  /** The holder-still-there check, and how many in a row it missed. */
  alive: NodeJS.Timeout | undefined;
  misses: number;
}

export class WatchRelay {
  /** This replica's relay, as the others address it. */
  readonly id = randomUUID();
  private readonly channel: ReplicaChannel;
  private readonly terminals: TerminalManager;
  private readonly canWatch: (viewerId: string, namespace: string) => Promise<boolean>;
  private readonly log: Logger;
  private readonly served = new Map<string, Served>();
  private readonly watching = new Map<string, Watching>();
  private readonly handlers: [string, (payload: unknown, ack?: unknown) => void][];

  private readonly aliveMs: number;

  constructor(deps: { channel: ReplicaChannel; terminals: TerminalManager; canWatch: (viewerId: string, namespace: string) => Promise<boolean>; logger: Logger; aliveMs?: number }) {
    this.aliveMs = deps.aliveMs ?? ALIVE_MS;
    this.channel = deps.channel;
    this.terminals = deps.terminals;
    this.canWatch = deps.canWatch;
    this.log = deps.logger.child({ component: 'watch-relay' });
    this.handlers = [
      [
        EV.watch,
        (payload, ack) => {
          this.onWatch(payload, ack).catch((error: unknown) => {
            this.log.warn({ err: error }, 'could not serve a watcher on another replica');
          });
        },
      ],
      [EV.output, (payload) => { this.onOutput(payload); }],
      [EV.end, (payload) => { this.onEnd(payload); }],
      [EV.ack, (payload) => { this.onAck(payload); }],
      [EV.unwatch, (payload) => { this.onUnwatch(payload); }],
      [EV.alive, (payload, ack) => { this.onAlive(payload, ack); }],
    ];
  }

  start(): void {
    for (const [event, handler] of this.handlers) this.channel.on(event, handler);
  }

  /** Stops listening; remote watchers of sessions here are told the view ended. */
  close(): void {
    for (const [event, handler] of this.handlers) this.channel.off(event, handler);
    for (const watcherId of [...this.served.keys()]) this.finish(watcherId, { reason: 'moved', message: 'The server holding this terminal is shutting down.' });
    for (const entry of this.watching.values()) {
      clearTimeout(entry.gap);
      clearTimeout(entry.ackTimer);
      clearInterval(entry.alive);
    }
    this.watching.clear();
  }

  // The holder's side.

  private async onWatch(payload: unknown, ack: unknown): Promise<void> {
    const parsed = watchRequest.safeParse(payload);
    if (!parsed.success || typeof ack !== 'function') return;
    const reply = ack as (answer: WatchReply) => void;
    const { namespace, viewerId, watcherId } = parsed.data;
    // Most replicas hold no session of it: they answer at once, without asking the database.
    const allowed = this.terminals.get(namespace) !== undefined && (await this.canWatch(viewerId, namespace).catch(() => false));
    const session = this.terminals.get(namespace);
    if (!allowed || !session || session.ended) {
      reply({ ok: false });
      return;
    }
    this.stopServing(watcherId);
    const served: Served = { session, pending: [], size: 0, sent: 0, timer: undefined };
    this.served.set(watcherId, served);
    // Watching before the snapshot, in the same tick: every byte is in the screen or in the stream, once.
    session.watch({
      id: watcherId,
      send: (chunk) => {
        this.push(watcherId, served, chunk);
      },
      end: (ended) => {
        this.finish(watcherId, ended);
      },
    } satisfies Viewer);
    // A session let go (this server shutting down) does not end its watchers: the view does.
    void session.closed.then(() => {
      if (this.served.get(watcherId) === served) this.finish(watcherId, { reason: 'moved', message: 'The terminal moved to another server.' });
    });
    const screen = await session.snapshot();
    reply({ ok: true, holder: this.id, attached: session.attached, sessionId: session.id, backend: session.backend, screen, cols: session.cols, rows: session.rows });
  }

  private push(watcherId: string, served: Served, chunk: Buffer): void {
    served.pending.push(chunk);
    served.size += chunk.length;
    if (served.size >= MAX_BATCH) this.flush(watcherId, served);
    else served.timer ??= setTimeout(() => {
      this.flush(watcherId, served);
    }, BATCH_MS);
  }

  private flush(watcherId: string, served: Served): void {
    clearTimeout(served.timer);
    served.timer = undefined;
    if (served.size === 0) return;
    const data = Buffer.concat(served.pending, served.size).toString('base64');
    served.pending = [];
    served.size = 0;
    this.channel.emit(EV.output, { watcherId, holder: this.id, seq: served.sent, data });
    served.sent += 1;
  }

  /** The watcher's view ends: what is batched goes first, then the end with how many messages preceded it. */
  private finish(watcherId: string, ended: TerminalEnded): void {
    const served = this.served.get(watcherId);
    if (!served) return;
    this.flush(watcherId, served);
    this.served.delete(watcherId);
    served.session.unwatch(watcherId);
    this.channel.emit(EV.end, { watcherId, holder: this.id, sent: served.sent, ended });
  }

  private stopServing(watcherId: string): void {
    const served = this.served.get(watcherId);
    if (!served) return;
    clearTimeout(served.timer);
    this.served.delete(watcherId);
    served.session.unwatch(watcherId);
  }

  private onAck(payload: unknown): void {
    const parsed = ackMessage.safeParse(payload);
    if (!parsed.success || parsed.data.holder !== this.id) return;
    this.served.get(parsed.data.watcherId)?.session.ack(parsed.data.watcherId, parsed.data.bytes);
  }

  private onUnwatch(payload: unknown): void {
    const parsed = unwatchMessage.safeParse(payload);
    if (parsed.success && parsed.data.holder === this.id) this.stopServing(parsed.data.watcherId);
  }

  // The watcher's side.

  /**
   * Asks the other replicas for the session of `namespace` and watches it from there. Resolves
   * with the screen and `start`, to call once the screen has gone to the browser (the live
   * output follows it), or with undefined when no replica holds a session the viewer may watch.
   */
  async watch(namespace: string, viewerId: string, watcherId: string, sink: WatchSink): Promise<{ view: WatchedView; start: () => void } | undefined> {
    this.unwatch(watcherId);
    const entry: Watching = { sink, holder: undefined, ready: false, next: 0, early: new Map(), earlyBytes: 0, endAfter: undefined, gap: undefined, acked: 0, ackTimer: undefined, alive: undefined, misses: 0 };
    this.watching.set(watcherId, entry);
    const answers = await this.answers(EV.watch, { namespace, viewerId, watcherId });
    const holders = answers.map((a) => watchReply.safeParse(a)).flatMap((p) => (p.success && p.data.ok ? [p.data] : []));
    // Two replicas may hold the same shell for a while (a page moved): the one the learner's page is on.
    const best = holders.find((h) => h.attached) ?? holders[0];
    for (const other of holders) if (other !== best) this.channel.emit(EV.unwatch, { watcherId, holder: other.holder });
    if (this.watching.get(watcherId) !== entry || !best) {
      if (this.watching.get(watcherId) === entry) this.watching.delete(watcherId);
      if (best) this.channel.emit(EV.unwatch, { watcherId, holder: best.holder });
      return undefined;
    }
    entry.holder = best.holder;
    for (const holder of entry.early.keys()) if (holder !== best.holder) entry.early.delete(holder);
    entry.alive = setInterval(() => {
      void this.checkAlive(watcherId, entry);
    }, this.aliveMs);
    entry.alive.unref();
    return {
      view: { sessionId: best.sessionId, backend: best.backend, screen: best.screen, cols: best.cols, rows: best.rows },
      start: () => {
        entry.ready = true;
        this.deliver(watcherId, entry);
      },
    };
  }

  /** The browser drew `bytes` of the view: the holder's session counts them off its watcher. */
  ack(watcherId: string, bytes: number): void {
    const entry = this.watching.get(watcherId);
    if (!entry?.holder || bytes <= 0) return;
    entry.acked += bytes;
    const send = () => {
      clearTimeout(entry.ackTimer);
      entry.ackTimer = undefined;
      if (entry.acked > 0 && entry.holder && this.watching.get(watcherId) === entry) this.channel.emit(EV.ack, { watcherId, holder: entry.holder, bytes: entry.acked });
      entry.acked = 0;
    };
    if (entry.acked >= ACK_BATCH) send();
    else entry.ackTimer ??= setTimeout(send, ACK_MS);
  }

  /** Stops watching; the holder is told unless it is the one that ended the view. */
  unwatch(watcherId: string, tellHolder = true): void {
    const entry = this.watching.get(watcherId);
    if (!entry) return;
    this.watching.delete(watcherId);
    clearTimeout(entry.gap);
    clearTimeout(entry.ackTimer);
    clearInterval(entry.alive);
    if (entry.holder && tellHolder) this.channel.emit(EV.unwatch, { watcherId, holder: entry.holder });
  }

  /** Every other replica's answer; when some did not answer in time (one going away), those that came. */
  private answers(event: string, payload: unknown): Promise<unknown[]> {
    return this.channel.ask(event, payload).catch((error: unknown) => {
      const partial = (error as { responses?: unknown }).responses;
      return Array.isArray(partial) ? (partial as unknown[]) : [];
    });
  }

  /** Holder side: whether this replica still serves the watcher (every replica answers). */
  private onAlive(payload: unknown, ack: unknown): void {
    const parsed = aliveRequest.safeParse(payload);
    if (!parsed.success || typeof ack !== 'function') return;
    (ack as (answer: unknown) => void)({ holder: this.id, serving: parsed.data.holder === this.id && this.served.has(parsed.data.watcherId) });
  }

  /** Watcher side: a holder that stopped answering (it crashed) ends the view, saying so. */
  private async checkAlive(watcherId: string, entry: Watching): Promise<void> {
    const holder = entry.holder;
    if (holder === undefined) return;
    const answers = await this.answers(EV.alive, { watcherId, holder });
    if (this.watching.get(watcherId) !== entry) return;
    const serving = answers.some((a) => {
      const parsed = aliveReply.safeParse(a);
      return parsed.success && parsed.data.holder === holder && parsed.data.serving;
    });
    entry.misses = serving ? 0 : entry.misses + 1;
    if (entry.misses < ALIVE_MISSES) return;
    this.log.warn({ watcherId, holder }, 'the replica holding a watched terminal stopped answering');
    this.endHere(watcherId, entry, { reason: 'moved', message: 'The server holding this terminal stopped.' }, false);
  }

  private onOutput(payload: unknown): void {
    const parsed = outputMessage.safeParse(payload);
    if (!parsed.success) return;
    const { watcherId, holder, seq, data } = parsed.data;
    const entry = this.watching.get(watcherId);
    if (!entry || (entry.holder !== undefined && entry.holder !== holder) || seq < entry.next) return;
    const chunks = entry.early.get(holder) ?? new Map<number, Buffer>();
    entry.early.set(holder, chunks);
    const chunk = Buffer.from(data, 'base64');
    chunks.set(seq, chunk);
    entry.earlyBytes += chunk.length;
    // The browser cannot keep up, or the holder's messages stopped arriving in order: let go.
    if (entry.earlyBytes > HIGH_WATER) {
      this.endHere(watcherId, entry, { reason: 'closed', message: 'The view fell too far behind the learner; open it again.' });
      return;
    }
    this.deliver(watcherId, entry);
  }

  private onEnd(payload: unknown): void {
    const parsed = endMessage.safeParse(payload);
    if (!parsed.success) return;
    const entry = this.watching.get(parsed.data.watcherId);
    if (!entry || entry.holder !== parsed.data.holder) return;
    entry.endAfter = { sent: parsed.data.sent, ended: parsed.data.ended };
    this.deliver(parsed.data.watcherId, entry);
  }

  /** Hands over the output that is next in sequence; ends the view once everything before its end came. */
  private deliver(watcherId: string, entry: Watching): void {
    if (!entry.ready || entry.holder === undefined) return;
    const chunks = entry.early.get(entry.holder);
    const before = entry.next;
    for (let chunk = chunks?.get(entry.next); chunk !== undefined; chunk = chunks?.get(entry.next)) {
      chunks?.delete(entry.next);
      entry.earlyBytes -= chunk.length;
      entry.next += 1;
      entry.sink.output(chunk);
    }
    if (entry.endAfter && entry.next >= entry.endAfter.sent) {
      this.endHere(watcherId, entry, entry.endAfter.ended, false);
      return;
    }
    // Still waiting for a message that is out of order: the clock runs from the last progress.
    if (entry.next !== before || (chunks?.size ?? 0) === 0) {
      clearTimeout(entry.gap);
      entry.gap = undefined;
    }
    if ((chunks?.size ?? 0) > 0 || entry.endAfter !== undefined) {
      entry.gap ??= setTimeout(() => {
        this.log.warn({ watcherId, next: entry.next }, 'output of a watched terminal went missing between replicas');
        this.endHere(watcherId, entry, { reason: 'error', message: 'Part of the output was lost between servers: open the view again.' });
      }, GAP_MS);
    }
  }

  private endHere(watcherId: string, entry: Watching, ended: TerminalEnded, tellHolder = true): void {
    if (this.watching.get(watcherId) !== entry) return;
    this.unwatch(watcherId, tellHolder);
    entry.sink.end(ended);
  }
}
