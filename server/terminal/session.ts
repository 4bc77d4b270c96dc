import { randomUUID } from 'node:crypto';
import xtermHeadless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';
import type { Logger } from '../logger.ts';
import type { TerminalEnded } from './views.ts';
import type { Recording } from './recorder.ts';
import type { Shell } from './backends.ts';

const { Terminal } = xtermHeadless;
const { SerializeAddon } = serializeAddon;

/**
 * One shell per sandbox, outliving the sockets that show it: a reload or a dropped connection
 * reattaches to the same shell, and a server-side headless xterm replays the screen.
 * Output is bounded end to end; the shell is paused (its writes block in the kernel) while any
 * of these holds, and resumed when none does:
 *   - viewer: the viewer lags by more than HIGH_WATER bytes it has not acknowledged drawing
 *     (resumed below LOW_WATER), so memory stays bounded whatever a client does;
 *   - detached: nobody is attached and the shell has printed DETACHED_BUDGET bytes since (a
 *     command finishing after the tab closed still shows on reattach; `yes` stops there);
 *   - screen: the headless screen has more than SCREEN_HIGH bytes not yet parsed (resumed
 *     below SCREEN_LOW): xterm parses in slices on the main thread, and this keeps its backlog,
 *     and so each slice's share of the event loop, small.
 */

export const HIGH_WATER = 2 * 1024 * 1024;
export const LOW_WATER = 512 * 1024;
export const DETACHED_BUDGET = 256 * 1024;
export const SCREEN_HIGH = 1024 * 1024;
const SCREEN_LOW = 256 * 1024;
const SCROLLBACK = 1000;

type Hold = 'viewer' | 'detached' | 'screen';

/**
 * How an ending session leaves its shell: `kill` ends it and everything it started (closed by
 * the learner, sandbox gone); `release` does so unless another attachment (another replica) has
 * claimed the shell since, when it only lets go (idle, grace, a lost exec); `detach` always
 * only lets go (this server is shutting down: the shell waits in its Pod for the next attach).
 */
export type EndMode = 'kill' | 'release' | 'detach';

export interface Viewer {
  id: string;
  send(chunk: Buffer): void;
  end(ended: TerminalEnded): void;
}

export interface SessionSettings {
  /** End the session after this long without input. */
  idleMs: number;
  /** End the session when nobody has been attached for this long. */
  graceMs: number;
  /** Input accepted per second (bytes), with a burst of four seconds' worth. */
  inputBytesPerSecond: number;
}

export class TerminalSession {
  readonly id = randomUUID();
  readonly namespace: string;
  readonly backend: 'jail' | 'pod';
  private readonly shell: Shell;
  private readonly screen: InstanceType<typeof Terminal>;
  private readonly serializer: InstanceType<typeof SerializeAddon>;
  private readonly recording: Recording;
  private readonly settings: SessionSettings;
  private readonly log: Logger;
  private readonly onEnd: (session: TerminalSession) => void;
  private viewer: Viewer | undefined;
  /** Read-only watchers (instructors): they see the output, they never type, they never slow the shell. */
  private readonly watchers = new Map<string, { viewer: Viewer; unacked: number }>();
  private unacked = 0;
  private readonly holds = new Set<Hold>();
  private paused = false;
  /** Bytes given to the headless screen and not yet parsed by it. */
  private screenPending = 0;
  /** Bytes printed since the last viewer left. */
  private detachedBytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private tokens: number;
  private lastRefill = Date.now();
  private warnedRate = false;
  ended: TerminalEnded | undefined;
  cols: number;
  rows: number;
  /** Called (throttled by the caller) when the learner types: sandbox activity. */
  onActivity: (() => void) | undefined;
  /** Observers of the output and of what the viewer types (the command runner follows the prompt). */
  readonly taps = { output: new Set<(chunk: Buffer) => void>(), input: new Set<(data: string) => void>() };
  /** The shell was running before this session attached (another replica opened it). */
  readonly joined: 'prompt' | 'busy' | undefined;
  private joinAnnounced = false;

  constructor(options: {
    namespace: string;
    backend: 'jail' | 'pod';
    shell: Shell;
    recording: Recording;
    settings: SessionSettings;
    logger: Logger;
    cols: number;
    rows: number;
    onEnd: (session: TerminalSession) => void;
    /** Why the shell exited on its own (a toolbox Pod ends with its sandbox's namespace). */
    exitReason?: () => Promise<TerminalEnded>;
  }) {
    this.namespace = options.namespace;
    this.backend = options.backend;
    this.shell = options.shell;
    this.joined = options.shell.joined;
    this.recording = options.recording;
    this.settings = options.settings;
    this.log = options.logger;
    this.onEnd = options.onEnd;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    this.cols = options.cols;
    this.rows = options.rows;
    this.tokens = options.settings.inputBytesPerSecond * 4;
    this.screen = new Terminal({ cols: options.cols, rows: options.rows, scrollback: SCROLLBACK, allowProposedApi: true });
    this.serializer = new SerializeAddon();
    this.screen.loadAddon(this.serializer);
    this.shell.onData((chunk) => {
      this.output(chunk);
    });
    const exitReason = options.exitReason ?? (() => Promise.resolve<TerminalEnded>({ reason: 'exited', message: 'The shell exited.' }));
    this.shell.onExit(() => {
      void exitReason().then((ended) => this.end(ended, 'release'));
    });
    this.touchIdle();
  }

  /** Pauses or resumes the shell to match the holds. */
  private hold(reason: Hold, on: boolean): void {
    if (on) this.holds.add(reason);
    else this.holds.delete(reason);
    const pause = this.holds.size > 0;
    if (pause === this.paused || this.ended) return;
    this.paused = pause;
    if (pause) this.shell.pause();
    else this.shell.resume();
  }

  private output(chunk: Buffer): void {
    // What a shell prints while it is being killed belongs to no one.
    if (this.ended) return;
    for (const tap of this.taps.output) tap(chunk);
    this.screenPending += chunk.length;
    this.screen.write(chunk, () => {
      this.screenPending -= chunk.length;
      if (this.screenPending < SCREEN_LOW && this.holds.has('screen')) this.hold('screen', false);
    });
    if (this.screenPending > SCREEN_HIGH) this.hold('screen', true);
    this.recording.output(chunk);
    for (const [id, watcher] of this.watchers) {
      // A watcher that falls this far behind is dropped instead of slowing the learner down.
      if (watcher.unacked + chunk.length > HIGH_WATER) {
        this.watchers.delete(id);
        watcher.viewer.end({ reason: 'closed', message: 'The view fell too far behind the learner; open it again.' });
        continue;
      }
      watcher.unacked += chunk.length;
      watcher.viewer.send(chunk);
    }
    const viewer = this.viewer;
    if (!viewer) {
      // Nobody attached: the headless screen keeps what matters for the next attach, and past
      // the budget the shell waits for someone instead of printing to no one.
      this.detachedBytes += chunk.length;
      if (this.detachedBytes > DETACHED_BUDGET) this.hold('detached', true);
      return;
    }
    viewer.send(chunk);
    this.unacked += chunk.length;
    if (this.unacked > HIGH_WATER) this.hold('viewer', true);
  }

  /** The screen as it is now, for a viewer that has just attached. */
  snapshot(): Promise<string> {
    // Pending writes to the headless terminal are applied first.
    return new Promise((resolve) => {
      this.screen.write('', () => {
        resolve(this.serializer.serialize({ scrollback: SCROLLBACK }));
      });
    });
  }

  /** A new viewer replaces the previous one (a reload, a second tab). */
  attach(viewer: Viewer): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const previous = this.viewer;
    this.viewer = viewer;
    this.unacked = 0;
    this.hold('viewer', false);
    this.hold('detached', false);
    if (previous && previous.id !== viewer.id) previous.end({ reason: 'replaced', message: 'This terminal was opened somewhere else.' });
    this.recording.marker('attached');
    // The shell's other attachments (other replicas) must leave it to this one from now on.
    this.shell.claim?.().catch((error: unknown) => {
      this.log.warn({ err: error, namespace: this.namespace }, 'could not mark the terminal as attached here');
    });
  }

  /** Whether a learner's page is attached now (a session in its grace period has none). */
  get attached(): boolean {
    return this.viewer !== undefined;
  }

  /** True once, for the first viewer of a session that joined a running shell: it is told so. */
  takeJoinNotice(): boolean {
    if (this.joined === undefined || this.joinAnnounced) return false;
    this.joinAnnounced = true;
    return true;
  }

  detach(viewerId: string): void {
    if (this.viewer?.id !== viewerId) return;
    this.viewer = undefined;
    // The viewer's lag no longer holds the shell; the detached budget does from now on.
    this.detachedBytes = 0;
    this.hold('viewer', false);
    this.graceTimer = setTimeout(() => {
      void this.end({ reason: 'closed', message: 'Nobody reattached to the terminal in time.' }, 'release');
    }, this.settings.graceMs);
    this.graceTimer.unref();
  }

  /** Adds a read-only watcher; it gets the screen from `snapshot()` and then the live output. */
  watch(viewer: Viewer): void {
    this.watchers.set(viewer.id, { viewer, unacked: 0 });
    this.recording.marker('watched');
  }

  unwatch(viewerId: string): void {
    this.watchers.delete(viewerId);
  }

  ack(viewerId: string, bytes: number): void {
    const watcher = this.watchers.get(viewerId);
    if (watcher) {
      watcher.unacked = Math.max(0, watcher.unacked - bytes);
      return;
    }
    if (this.viewer?.id !== viewerId) return;
    this.unacked = Math.max(0, this.unacked - bytes);
    if (this.unacked < LOW_WATER) this.hold('viewer', false);
  }

  /** Input from the viewer, within the rate limit. Returns false when input was dropped. */
  input(viewerId: string, data: string): boolean {
    if (this.viewer?.id !== viewerId || this.ended) return false;
    const now = Date.now();
    const burst = this.settings.inputBytesPerSecond * 4;
    this.tokens = Math.min(burst, this.tokens + ((now - this.lastRefill) / 1000) * this.settings.inputBytesPerSecond);
    this.lastRefill = now;
    const size = Buffer.byteLength(data);
    if (size > this.tokens) {
      if (!this.warnedRate) {
        this.warnedRate = true;
        this.log.warn({ namespace: this.namespace }, 'terminal input over the rate limit was dropped');
      }
      return false;
    }
    this.tokens -= size;
    this.warnedRate = false;
    this.shell.write(data);
    for (const tap of this.taps.input) tap(data);
    this.touchIdle();
    this.onActivity?.();
    return true;
  }

  resize(viewerId: string, cols: number, rows: number): void {
    if (this.viewer?.id !== viewerId || (cols === this.cols && rows === this.rows)) return;
    this.cols = cols;
    this.rows = rows;
    this.shell.resize(cols, rows);
    this.screen.resize(cols, rows);
    this.recording.resize(cols, rows);
  }

  refreshCredentials(): Promise<void> {
    return this.shell.refreshCredentials();
  }

  private touchIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      void this.end({ reason: 'idle', message: `The terminal closed after ${Math.round(this.settings.idleMs / 60_000)} minutes without input.` }, 'release');
    }, this.settings.idleMs);
    this.idleTimer.unref();
  }

  /** Settles once the shell and every process it started are gone (after `end`). */
  readonly closed: Promise<void>;
  private markClosed: () => void = () => undefined;

  /**
   * Ends the session: kills the shell and everything it started or only lets go of it (see
   * EndMode), closes the recording, tells the viewer (not when the server is going away: the
   * page reattaches through another replica).
   */
  async end(ended: TerminalEnded, mode: EndMode = 'kill'): Promise<void> {
    if (this.ended) return;
    this.ended = ended;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    const viewer = this.viewer;
    const watchers = [...this.watchers.values()];
    this.viewer = undefined;
    this.watchers.clear();
    this.onEnd(this);
    const elsewhere = mode === 'release' && this.shell.detach !== undefined && (await this.shell.claimedElsewhere?.().catch(() => false)) === true;
    if (mode !== 'detach') {
      // A shell another server now holds goes on: its watchers hear so, and may follow it.
      const told: TerminalEnded = elsewhere ? { reason: 'moved', message: 'The terminal moved to another server.' } : ended;
      viewer?.end(told);
      for (const watcher of watchers) watcher.viewer.end(told);
    }
    let detached = false;
    try {
      if (this.shell.detach && (mode === 'detach' || elsewhere)) {
        await this.shell.detach();
        detached = true;
      } else {
        await this.shell.kill();
      }
    } catch (error) {
      this.log.warn({ err: error, namespace: this.namespace }, 'could not end the terminal cleanly');
    }
    this.markClosed();
    this.recording.marker(detached ? `detached: ${ended.reason}` : `ended: ${ended.reason}`);
    await this.recording.end();
    this.screen.dispose();
  }
}
