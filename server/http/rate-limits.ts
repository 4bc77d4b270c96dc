import { isIPv6 } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Learner } from '../db/learners.ts';
import { memoryRateLimits, type RateLimitStore } from '../db/rate-limits.ts';
import { RateLimited } from '../errors.ts';
import type { RateLimitName, RateLimitSettings } from '../limits.ts';
import type { Logger } from '../logger.ts';
import { learnerOf } from './session.ts';

/**
 * What one visitor may consume, counted at the edge (HTTP and socket.io) before any work is
 * done. Two kinds of bucket:
 *   - per address, for what makes someone out of no one (guest sessions, sign-ups, join codes
 *     that do not exist): the address is all that is known of an anonymous visitor;
 *   - per learner for each costly action (sandbox requests, check runs, terminal opens), plus
 *     a per-address ceiling for guests and accounts. A workshop participant's actions skip the
 *     address ceiling: they hold a join code and one of its seats, so a classroom of 200 behind
 *     one NAT address is told apart from one script making 200 guests.
 * Past a limit the answer is 429 with Retry-After (RateLimited). The counters live in the
 * store given (db/rate-limits.ts): shared by every replica on PostgreSQL, in memory on SQLite.
 */

export type Action = 'sandboxes' | 'checks' | 'terminals';

const WHAT: Record<RateLimitName, string> = {
  guests: 'new guest sessions from your address',
  signups: 'sign-ups from your address',
  'bad-joins': 'join attempts with a wrong code from your address',
  sandboxes: 'sandbox requests from you',
  'sandboxes-address': 'sandbox requests from your address',
  checks: 'check runs from you',
  'checks-address': 'check runs from your address',
  terminals: 'terminal opens from you',
  'terminals-address': 'terminal opens from your address',
};

/** One bucket per IPv4 address; per /64 for IPv6 (one subscriber holds a whole /64). */
export function addressKey(address: string | undefined): string {
  const plain = (address ?? 'unknown').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  if (!isIPv6(plain)) return plain;
  const [head = '', tail = ''] = plain.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = plain.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function period(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? 'an hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? 'a minute' : `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

export class EdgeLimits {
  private readonly settings: RateLimitSettings;
  private readonly log: Logger;
  private readonly limiters = new Map<RateLimitName, RateLimiterAbstract>();

  constructor(settings: RateLimitSettings, logger: Logger, store: RateLimitStore = memoryRateLimits()) {
    this.settings = settings;
    this.log = logger.child({ component: 'rate-limits' });
    for (const [name, limit] of Object.entries(settings) as [RateLimitName, { points: number; seconds: number }][]) {
      this.limiters.set(name, store.limiter({ name: `edge:${name}`, points: limit.points, duration: limit.seconds }));
    }
  }

  private refusal(name: RateLimitName, msBeforeNext: number, key: string): RateLimited {
    const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    const limit = this.settings[name];
    this.log.warn({ limit: name, key }, 'rate limit reached');
    return new RateLimited(`too many ${WHAT[name]}: at most ${limit.points} in ${period(limit.seconds)}; try again in ${seconds} s`, { retryAfterSeconds: seconds, limit: name });
  }

  /** Takes a point from each bucket named; throws at the first one that is empty. */
  async take(buckets: readonly (readonly [RateLimitName, string])[]): Promise<void> {
    for (const [name, key] of buckets) {
      try {
        await this.limiters.get(name)?.consume(key);
      } catch (error) {
        if (error instanceof RateLimiterRes) throw this.refusal(name, error.msBeforeNext, key);
        throw error;
      }
    }
  }

  /** The buckets of a learner's action: theirs, and their address's unless they hold a workshop seat. */
  action(action: Action, learner: Learner, address: string): Promise<void> {
    const buckets: [RateLimitName, string][] = [[action, learner.id]];
    if (learner.kind !== 'participant') buckets.push([`${action}-address`, addressKey(address)]);
    return this.take(buckets);
  }

  /** Throws while an address is blocked for wrong join codes, without counting this attempt. */
  async checkBadJoins(address: string): Promise<void> {
    const key = addressKey(address);
    const state = await this.limiters.get('bad-joins')?.get(key);
    if (state && state.consumedPoints >= this.settings['bad-joins'].points) throw this.refusal('bad-joins', state.msBeforeNext, key);
  }

  /** Counts a join with a code that does not exist. */
  async badJoin(address: string): Promise<void> {
    await this.limiters.get('bad-joins')?.consume(addressKey(address)).catch((error: unknown) => {
      if (!(error instanceof RateLimiterRes)) throw error;
    });
  }

  /** Express middleware for an action by the request's learner (after requireLearner). */
  limit(action: Action): RequestHandler {
    return (req, res, next) => {
      const learner = learnerOf(res);
      if (!learner) {
        next();
        return;
      }
      this.action(action, learner, clientAddress(req)).then(() => {
        next();
      }, next);
    };
  }
}

/** The client's address: Express resolves X-Forwarded-For only as far as --trust-proxy allows. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
