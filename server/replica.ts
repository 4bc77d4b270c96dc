import type { ReplicaRepository } from './db/replicas.ts';
import type { Logger } from './logger.ts';

/** How often a replica records that it is alive. */
export const HEARTBEAT_MS = 15_000;
/** Missed beats after which a replica counts as gone (its checks may be ended by another). */
export const STALE_BEATS = 3;

/**
 * This server process among the replicas sharing the database: its id (the platform's, also its
 * Lease identity: the host name, a Pod's, and a random suffix), and a heartbeat row the others read to
 * tell a live replica from one that stopped without saying so (a crash, a killed Pod). `close`
 * stops the beat and removes the row: a replica that shuts down cleanly is gone at once.
 */
export class ReplicaPresence {
  readonly periodMs: number;
  private readonly replicas: ReplicaRepository;
  private readonly log: Logger;
  readonly id: string;
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private lastProblem = '';

  constructor(deps: { id: string; replicas: ReplicaRepository; logger: Logger; periodMs?: number }) {
    this.id = deps.id;
    this.replicas = deps.replicas;
    this.log = deps.logger.child({ component: 'replica' });
    this.periodMs = deps.periodMs ?? HEARTBEAT_MS;
  }

  /** How long without a beat before a replica counts as gone. */
  get staleAfterMs(): number {
    return this.periodMs * STALE_BEATS;
  }

  /** Writes the first beat (so the replica is known before it owns anything) and beats every period. */
  async start(): Promise<void> {
    if (this.started) return;
    const id = this.id;
    await this.replicas.beat(id);
    this.started = true;
    this.log.info({ replica: id, heartbeatMs: this.periodMs }, 'this replica beats in the database');
    this.timer = setInterval(() => {
      this.beat(id);
    }, this.periodMs);
    this.timer.unref();
  }

  private beat(id: string): void {
    this.beating = this.replicas.beat(id).then(
      () => {
        if (this.lastProblem !== '') this.log.info({ replica: id }, 'the heartbeat is written again');
        this.lastProblem = '';
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        // Once per problem: a database that is down would otherwise fill the log every period.
        if (message !== this.lastProblem) this.log.warn({ err: error, replica: id }, `could not write this replica's heartbeat; after ${this.staleAfterMs / 1000} s without one, other replicas end its checks`);
        this.lastProblem = message;
      },
    );
  }

  /** Stops beating and removes the row; the platform has ended this replica's checks before. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    if (!this.started) return;
    const id = this.id;
    await this.replicas.remove(id).catch((error: unknown) => {
      this.log.warn({ err: error, replica: id }, 'could not remove this replica from the database; it counts as gone once its heartbeat is stale');
    });
  }
}
