import { messageOf } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { CapacityResponse } from '../protocol-admin.ts';
import type { SandboxService } from '../sandboxes/service.ts';
import { SANDBOX_SIZES, SANDBOX_STATES, type SandboxState } from '../vocabulary.ts';
import type { TerminalManager } from '../terminal/manager.ts';

type Listing = { ok: true; byState: Record<SandboxState, number>; total: number; at: number } | { ok: false; problem: string; at: number };

/** Workshops that have started and not ended: what instructors see as "running". */
export interface CapacityDeps {
  sandboxes: Pick<SandboxService, 'list' | 'poolSize' | 'poolSizeOf'>;
  /** `openCount` counts every replica's sessions; without it, this server's `count`. */
  terminals: Pick<TerminalManager, 'count'> & Partial<Pick<TerminalManager, 'openCount'>>;
  /** --sandbox-capacity */
  capacity: number;
  runningWorkshops: () => Promise<number>;
  logger: Logger;
  /** How long one listing of the sandboxes is shared (5 s). */
  ttlMs?: number;
  /** How long a listing may take before it counts as failed (4 s). */
  timeoutMs?: number;
}

/**
 * How full the platform is, for the admin page and the metrics scrape. Listing sandboxes is a
 * call to the API server, so one listing is shared for `ttlMs`, failures included: scrapes and
 * page reloads never hammer a cluster, least of all one that is struggling.
 */
export class CapacityProbe {
  private readonly deps: CapacityDeps;
  private readonly log: Logger;
  private listing: Promise<Listing> | undefined;
  private listedAt = 0;
  private failing = false;

  constructor(deps: CapacityDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'capacity' });
  }

  /** Drops the kept listing (after a reap, the next read must see what is left). */
  invalidate(): void {
    this.listing = undefined;
  }

  sandboxes(): Promise<Listing> {
    if (!this.listing || Date.now() - this.listedAt > (this.deps.ttlMs ?? 5_000)) {
      this.listedAt = Date.now();
      this.listing = this.list();
    }
    return this.listing;
  }

  private async list(): Promise<Listing> {
    const timeoutMs = this.deps.timeoutMs ?? 4_000;
    let timer: NodeJS.Timeout | undefined;
    // A scrape must answer within Prometheus' timeout even when the API server hangs.
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`the API server did not list the sandboxes within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      timer.unref();
    });
    try {
      const all = await Promise.race([this.deps.sandboxes.list(), timeout]);
      const byState = Object.fromEntries(SANDBOX_STATES.map((s) => [s, 0])) as Record<SandboxState, number>;
      for (const sandbox of all) byState[sandbox.state] += 1;
      this.failing = false;
      return { ok: true, byState, total: all.length, at: Date.now() };
    } catch (error) {
      const problem = messageOf(error);
      // Once per outage: the readiness check already reports a cluster that is down.
      if (!this.failing) this.log.warn({ problem }, 'could not list sandboxes for capacity and metrics');
      this.failing = true;
      return { ok: false, problem, at: Date.now() };
    } finally {
      clearTimeout(timer);
    }
  }

  async snapshot(): Promise<CapacityResponse> {
    const listing = await this.sandboxes();
    const { sandboxes, terminals } = this.deps;
    return {
      sandboxes: { inUse: listing.ok ? listing.total : null, capacity: this.deps.capacity, byState: listing.ok ? { ...listing.byState } : null },
      warmPool: { total: sandboxes.poolSize, bySize: Object.fromEntries(SANDBOX_SIZES.map((size) => [size, sandboxes.poolSizeOf(size)])) as CapacityResponse['warmPool']['bySize'] },
      terminals: { open: (await terminals.openCount?.()) ?? terminals.count },
      workshops: { running: await this.deps.runningWorkshops() },
      problem: listing.ok ? null : listing.problem,
      checkedAt: new Date(listing.at).toISOString(),
    };
  }
}
