import type { QueuedScore, ScoreQueueRepository } from '../db/lti-queue.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from './clock.ts';
import { PlatformRefused, PlatformUnavailable } from './platform-client.ts';

export interface QueueStats {
  /** Deliveries tried, successful or not. */
  attempts: number;
  delivered: number;
  failed: number;
  /** Tries that met an unreachable or unwilling platform and will be repeated. */
  retries: number;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/**
 * Delivers queued scores to their platforms. Order: only the oldest pending score of a line item
 * (link) and user is ever sent, so a user's scores arrive in the order they were produced, and
 * each is marked delivered once the platform has accepted it. When a platform cannot be reached,
 * all its scores wait together with exponential backoff (base · 2ⁿ, capped, ±20% jitter) and one
 * attempt is made per step, not one per score. A score the platform refuses for good (4xx) is
 * set aside as failed and the next one of that user goes. Everything lives in the database: a restart
 * resumes where it stopped. (A crash between the platform's 2xx and our commit would send that
 * score again; AGS scores carry their timestamp, so platforms treat the repeat as the same score.)
 */
export class ScoreQueue {
  private readonly repo: ScoreQueueRepository;
  private readonly deliver: (item: QueuedScore) => Promise<void>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  /** Another replica may queue scores: look at least this often (ms) while running. */
  private readonly pollMs: number | undefined;
  private readonly failures = new Map<string, number>();
  private cancelTimer: (() => void) | undefined;
  private passing: Promise<void> | undefined;
  private again = false;
  private running = false;
  readonly stats: QueueStats = { attempts: 0, delivered: 0, failed: 0, retries: 0 };

  constructor(deps: { repo: ScoreQueueRepository; deliver: (item: QueuedScore) => Promise<void>; clock: Clock; logger: Logger; concurrency?: number; backoff?: Backoff; random?: () => number; pollMs?: number }) {
    this.repo = deps.repo;
    this.deliver = deps.deliver;
    this.clock = deps.clock;
    this.log = deps.logger;
    this.concurrency = deps.concurrency ?? 4;
    this.backoff = deps.backoff ?? { baseMs: 1000, maxMs: 60_000 };
    this.random = deps.random ?? Math.random;
    this.pollMs = deps.pollMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.notify();
  }

  /** Stops the timer and waits for deliveries in flight; what is pending stays in the database. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.passing;
  }

  /** Something was queued: deliver now. */
  notify(): void {
    if (this.running) void this.pass();
  }

  /** Resolves when no pass is running (tests wait on it after moving the clock). */
  async idle(): Promise<void> {
    while (this.passing) await this.passing;
  }

  private delayFor(platformId: string): number {
    const n = this.failures.get(platformId) ?? 1;
    const raw = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (n - 1));
    return Math.round(raw * (0.8 + 0.4 * this.random()));
  }

  private pass(): Promise<void> {
    if (this.passing) {
      this.again = true;
      return this.passing;
    }
    this.passing = (async () => {
      try {
        do {
          this.again = false;
          await this.drain();
        } while (this.wantsAnother());
      } catch (error) {
        this.log.error({ err: error }, 'the score queue stopped a pass on an unexpected error');
      } finally {
        await this.schedule().catch((error: unknown) => {
          this.log.error({ err: error }, 'the score queue could not plan its next pass');
        });
        this.passing = undefined;
      }
    })();
    return this.passing;
  }

  /** Whether something was queued while the last pass ran (read through a call: it changes across awaits). */
  private wantsAnother(): boolean {
    return this.again && this.running;
  }

  /** Whether stop() has been called (read through a call: it changes across awaits). */
  private stopped(): boolean {
    return !this.running;
  }

  private async schedule(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (!this.running) return;
    const due = await this.repo.nextDue();
    // stop() may have come while the database answered.
    if (this.stopped()) return;
    const wait = Math.min(due === undefined ? Infinity : Math.max(0, due - this.clock.now()), this.pollMs ?? Infinity);
    if (wait === Infinity) return;
    this.cancelTimer = this.clock.later(() => {
      this.cancelTimer = undefined;
      void this.pass();
    }, wait);
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.running) return;
      const heads = await this.repo.dueHeads(this.clock.now(), 200);
      if (heads.length === 0) return;
      const byPlatform = new Map<string, QueuedScore[]>();
      for (const head of heads) byPlatform.set(head.platformId, [...(byPlatform.get(head.platformId) ?? []), head]);
      const results = await Promise.all([...byPlatform].map(([platformId, items]) => this.drainPlatform(platformId, items)));
      // Nothing got through anywhere: wait for the backoff instead of spinning.
      if (!results.some((progressed) => progressed)) return;
    }
  }

  /** Sends a platform's due heads, a few at a time; stops at the first sign it is down. */
  private async drainPlatform(platformId: string, items: QueuedScore[]): Promise<boolean> {
    // Shared by the workers: one of them meeting a down platform stops the others.
    const seen = { down: false };
    let progressed = false;
    const queue = [...items];
    const worker = async () => {
      for (let item = queue.shift(); item && !seen.down && this.running; item = queue.shift()) {
        this.stats.attempts += 1;
        try {
          await this.deliver(item);
          await this.repo.delivered(item.id, this.clock.now());
          this.stats.delivered += 1;
          this.failures.delete(platformId);
          progressed = true;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (error instanceof PlatformUnavailable) {
            this.failures.set(platformId, (this.failures.get(platformId) ?? 0) + 1);
            const until = this.clock.now() + this.delayFor(platformId);
            await this.repo.retry(item.id, message, until);
            await this.repo.deferPlatform(platformId, until);
            this.stats.retries += 1;
            this.log.warn({ platformId, attempts: item.attempts + 1, retryInMs: until - this.clock.now(), error: message }, 'the LMS is unavailable; scores wait and are retried');
            seen.down = true;
          } else {
            await this.repo.failed(item.id, message);
            this.stats.failed += 1;
            progressed = true;
            if (error instanceof PlatformRefused) this.log.warn({ platformId, id: item.id, error: message }, 'the LMS refused a score; it is set aside');
            else this.log.error({ err: error, platformId, id: item.id }, 'a score could not be sent');
          }
        }
      }
    };
    // A platform that failed last time gets one probe; several at once only once it answers again.
    const workers = this.failures.has(platformId) ? 1 : Math.min(this.concurrency, items.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return progressed;
  }
}
