import { EventEmitter } from 'node:events';
import type { Logger } from './logger.ts';

/** Who leads: the Lease election (cluster/lease.ts' LeaderElector), or a server alone. */
export interface Elector {
  readonly isLeader: boolean;
  readonly identity: string;
  on(event: 'leading', listener: (leading: boolean) => void): unknown;
  off(event: 'leading', listener: (leading: boolean) => void): unknown;
  start(): void;
  close(): Promise<void>;
}

/**
 * A server that cannot have replicas leads alone, without a Lease: on the embedded cluster, which
 * lives in this server's data directory, there is no other server to share the work with (and
 * its work goes on while that cluster is down, the LMS score queue for one).
 */
export class SoleLeader extends EventEmitter<{ leading: [boolean] }> implements Elector {
  readonly identity = 'this server alone';
  private leader = false;

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.leader) return;
    this.leader = true;
    this.emit('leading', true);
  }

  close(): Promise<void> {
    if (this.leader) {
      this.leader = false;
      this.emit('leading', false);
    }
    return Promise.resolve();
  }
}

/** Work that must run on one replica of the cluster at a time (the reaper, the score queue…). */
export interface Duty {
  name: string;
  /** Begins the work; a promise when beginning is itself a piece of work (the setup link). */
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/**
 * A duty that runs `task` at once and then every `periodMs` while this replica leads (a round
 * still running when the next is due is not doubled); a failure is logged and the next round
 * tries again.
 */
export function periodicDuty(name: string, periodMs: number, task: () => Promise<void>, logger: Logger): Duty {
  const log = logger.child({ component: 'leader' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const round = (): void => {
    running ??= task()
      .catch((error: unknown) => {
        log.warn({ err: error, duty: name }, 'a once-per-cluster duty failed; it tries again next round');
      })
      .finally(() => {
        running = undefined;
      });
  };
  return {
    name,
    start() {
      round();
      timer = setInterval(round, periodMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Runs the duties while this replica leads (server/cluster/lease.ts) and stops them when it
 * stops leading. Starts and stops are queued one after another, so a quick lose-and-win never
 * runs a duty twice; `close` stops them before the Lease is released, so two replicas never run
 * them at once across a rolling update.
 */
export class LeaderDuties {
  private readonly elector: Elector;
  private readonly duties: readonly Duty[];
  private readonly log: Logger;
  private running = false;
  private queue: Promise<void> = Promise.resolve();
  private readonly onLeading = (leading: boolean): void => {
    this.queue = this.queue.then(async () => {
      if (leading) await this.startAll();
      else await this.stopAll();
    });
  };

  constructor(deps: { elector: Elector; duties: readonly Duty[]; logger: Logger }) {
    this.elector = deps.elector;
    this.duties = deps.duties;
    this.log = deps.logger.child({ component: 'leader' });
  }

  get leading(): boolean {
    return this.elector.isLeader;
  }

  /** This replica's name in the Lease. */
  get identity(): string {
    return this.elector.identity;
  }

  start(): void {
    this.elector.on('leading', this.onLeading);
    this.elector.start();
  }

  /**
   * Resolves once the duties asked so far have started or stopped. A sole leader leads from
   * `start`, so after this its duties have begun (the setup link is printed before serve goes on).
   */
  settled(): Promise<void> {
    return this.queue;
  }

  private async startAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all(
      this.duties.map(async (duty) => {
        try {
          await duty.start();
        } catch (error) {
          this.log.error({ err: error, duty: duty.name }, 'a once-per-cluster duty did not start');
        }
      }),
    );
    this.log.info({ duties: this.duties.map((d) => d.name) }, 'once-per-cluster duties started');
  }

  private async stopAll(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all(
      this.duties.map(async (duty) => {
        try {
          await duty.stop();
        } catch (error) {
          this.log.warn({ err: error, duty: duty.name }, 'a once-per-cluster duty did not stop cleanly');
        }
      }),
    );
    this.log.info('once-per-cluster duties stopped');
  }

  /** Stops the duties, then leaves the election (releasing the Lease if held). */
  async close(): Promise<void> {
    this.elector.off('leading', this.onLeading);
    await this.queue;
    await this.stopAll();
    await this.elector.close();
  }
}
