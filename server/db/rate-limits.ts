import { CompiledQuery } from 'kysely';
import { RateLimiterMemory, RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../logger.ts';
import { dialectOf, type Db } from './database.ts';

/** What a counter is: its name (a key prefix in the shared table), points per duration, and how long a key past it stays blocked. */
export interface LimiterOptions {
  name: string;
  points: number;
  /** Seconds. */
  duration: number;
  /** Seconds; 0 or absent: no block beyond the duration. */
  blockDuration?: number;
}

/**
 * Where rate-limit counters live. With PostgreSQL every replica counts in one table, so a
 * visitor who reaches several replicas meets one limit, not one per replica: rate-limiter-
 * flexible's RateLimiterPostgres, its queries run through the platform's own Kysely pool (no
 * pool or connection of its own). If the database cannot answer, a counter in memory stands in
 * (the library's insurance limiter), so a database hiccup never lets everyone through nor
 * locks everyone out. SQLite means one process: its counters stay in memory.
 */
export interface RateLimitStore {
  /** True when the counters are shared by every replica (PostgreSQL). */
  readonly shared: boolean;
  limiter(options: LimiterOptions): RateLimiterAbstract;
  /** Deletes counters that expired over an hour ago (the leader's housekeeping; nothing with memory). */
  prune(now?: number): Promise<number>;
}

const TABLE = 'rate_limits';

export function memoryRateLimits(): RateLimitStore {
  return {
    shared: false,
    limiter: (o) => new RateLimiterMemory({ keyPrefix: o.name, points: o.points, duration: o.duration, blockDuration: o.blockDuration ?? 0 }),
    prune: () => Promise.resolve(0),
  };
}

export function rateLimitStore(db: Db, logger?: Logger): RateLimitStore {
  if (dialectOf(db) === 'sqlite') return memoryRateLimits();
  const log = logger?.child({ component: 'rate-limits' });
  let warnedAt = 0;
  // The library asks a pg-like client for `query({ text, values })`; Kysely runs it on its pool.
  const client = {
    async query(q: { text: string; values?: unknown[] }): Promise<{ rows: unknown[]; rowCount: number }> {
      try {
        const result = await db.executeQuery(CompiledQuery.raw(q.text, q.values ?? []));
        return { rows: result.rows, rowCount: result.numAffectedRows === undefined ? result.rows.length : Number(result.numAffectedRows) };
      } catch (error) {
        if (Date.now() - warnedAt > 60_000) {
          warnedAt = Date.now();
          log?.warn({ err: error }, 'the shared rate-limit counters cannot be reached; counting in this replica\'s memory meanwhile');
        }
        throw error;
      }
    },
  };
  return {
    shared: true,
    limiter(o) {
      const blockDuration = o.blockDuration ?? 0;
      return new RateLimiterPostgres({
        storeClient: client,
        storeType: 'pool',
        tableName: TABLE,
        // Made by migration 008; the library's own CREATE TABLE and expiry timer stay off (no
        // I/O in a constructor, no timer nobody closes): the leader prunes instead.
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix: o.name,
        points: o.points,
        duration: o.duration,
        blockDuration,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: o.name, points: o.points, duration: o.duration, blockDuration }),
      });
    },
    async prune(now = Date.now()) {
      const result = await db.deleteFrom(TABLE).where('expire', '<', now - 3_600_000).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
