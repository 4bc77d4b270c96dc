import type { WorkshopRepository } from '../db/workshops.ts';
import type { Logger } from '../logger.ts';
import type { SandboxService } from '../sandboxes/service.ts';
import type { SandboxSize } from '../vocabulary.ts';

/** Pool sandboxes are made this long before a workshop starts. */
export const POOL_LEAD_MS = 15 * 60_000;
const PLAN_EVERY_MS = 60_000;

/**
 * Keeps the warm pool ready for workshops: one sandbox per empty seat of every workshop starting
 * within the lead time or under way, in its size; planned now and every minute once started.
 */
export class PoolPlanner {
  private readonly workshops: WorkshopRepository;
  private readonly sandboxes: SandboxService;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private filling = false;

  constructor(deps: { workshops: WorkshopRepository; sandboxes: SandboxService; logger: Logger }) {
    this.workshops = deps.workshops;
    this.sandboxes = deps.sandboxes;
    this.log = deps.logger;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.prepare();
    }, PLAN_EVERY_MS);
    this.timer.unref();
    void this.prepare();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Tops the warm pool up for the workshops that need it now; one fill at a time. */
  async prepare(now = Date.now()): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      for (const [size, target] of await this.targets(now)) {
        if (target > 0) await this.sandboxes.fillPool(target, size);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not fill the warm pool for workshops');
    } finally {
      this.filling = false;
    }
  }

  /** Pool sandboxes wanted per size: one per empty seat of the workshops starting soon or under way. */
  async targets(now: number): Promise<Map<SandboxSize, number>> {
    const bySize = new Map<SandboxSize, number>();
    for (const w of await this.workshops.scheduled()) {
      if (now < Date.parse(w.startsAt) - POOL_LEAD_MS || now > Date.parse(w.endsAt)) continue;
      const empty = Math.max(0, w.seats - (await this.workshops.participantCount(w.id)));
      bySize.set(w.sandboxSize, (bySize.get(w.sandboxSize) ?? 0) + empty);
    }
    return bySize;
  }
}
