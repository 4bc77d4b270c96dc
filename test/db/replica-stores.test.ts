import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../server/db/database.ts';
import { OPEN_TERMINAL_STALE_MS, OpenTerminalRepository } from '../../server/db/open-terminals.ts';
import { rateLimitStore } from '../../server/db/rate-limits.ts';
import { DIALECTS, testDatabases } from '../helpers/databases.ts';

/**
 * What replicas on one database share, on both databases: which terminals are open (each
 * replica's own rows, stale ones ignored) and the rate-limit counters (one count on
 * PostgreSQL whichever replica counts; SQLite is one process and counts in memory).
 */

const databases = testDatabases();

describe.each(DIALECTS)('open terminals on %s', (dialect) => {
  let a: OpenTerminalRepository;
  let b: OpenTerminalRepository;
  beforeAll(async () => {
    const db = await databases.open(dialect);
    a = new OpenTerminalRepository(db, 'replica-a');
    b = new OpenTerminalRepository(db, 'replica-b');
  });

  it('marks a sandbox open while any replica holds its session, and only that replica unmarks its own', async () => {
    await a.opened('kd-ana');
    expect(await b.openAmong(['kd-ana', 'kd-ben'])).toEqual(new Set(['kd-ana']));
    // The page moved to B: both hold a session for a while; A letting go leaves B's mark.
    await b.opened('kd-ana');
    await a.closed('kd-ana');
    expect(await a.openAmong(['kd-ana'])).toEqual(new Set(['kd-ana']));
    expect(await a.count()).toBe(1);
    await b.closed('kd-ana');
    expect(await b.openAmong(['kd-ana'])).toEqual(new Set());
    expect(await b.openAmong([])).toEqual(new Set());
  });

  it("ignores the rows of a replica that stopped refreshing them, and the next heartbeat deletes them", async () => {
    const now = Date.now();
    const long = new Date(now - OPEN_TERMINAL_STALE_MS - 60_000);
    await a.opened('kd-crashed', long);
    await b.opened('kd-alive', long);
    // B still holds its session: its heartbeat keeps it fresh and sweeps A's stale row.
    await b.heartbeat(['kd-alive'], new Date(now));
    expect(await a.openAmong(['kd-crashed', 'kd-alive'], new Date(now))).toEqual(new Set(['kd-alive']));
    await b.opened('kd-other');
    await b.closeAll();
    expect(await a.openAmong(['kd-crashed', 'kd-alive', 'kd-other'])).toEqual(new Set());
  });
});

describe.each(DIALECTS)('rate-limit counters on %s', (dialect) => {
  it(dialect === 'postgres' ? 'are kept in the database every replica shares' : 'are kept in the memory of the one process', async () => {
    const store = rateLimitStore(await databases.open(dialect));
    expect(store.shared).toBe(dialect === 'postgres');
    expect(store.limiter({ name: 'test:kind', points: 1, duration: 1 })).toBeInstanceOf(dialect === 'postgres' ? RateLimiterPostgres : RateLimiterMemory);
  });
});

describe('rate-limit counters shared on PostgreSQL', () => {
  let one: Db;
  let two: Db;
  beforeAll(async () => {
    const target = await databases.target('postgres');
    // Two handles on one database, as two replicas have (each its own pool).
    one = await openDatabase(target);
    two = await openDatabase(target);
    return async () => {
      await one.destroy();
      await two.destroy();
    };
  });

  it('count one limit whichever replica is asked, block across them and forget expired counters', async () => {
    const [storeA, storeB] = [rateLimitStore(one), rateLimitStore(two)];
    const [limitA, limitB] = [storeA.limiter({ name: 'test:alternate', points: 3, duration: 60 }), storeB.limiter({ name: 'test:alternate', points: 3, duration: 60 })];
    for (const limiter of [limitA, limitB, limitA]) await limiter.consume('203.0.113.9');
    const refused = await limitB.consume('203.0.113.9').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(RateLimiterRes);
    expect((refused as RateLimiterRes).msBeforeNext).toBeGreaterThan(50_000);
    expect((await limitA.get('203.0.113.9'))?.consumedPoints).toBe(4);
    // Another key and another counter's name are counted apart.
    await limitB.consume('198.51.100.1');
    await storeB.limiter({ name: 'test:other', points: 1, duration: 60 }).consume('203.0.113.9');

    // A block set through one replica holds on the other; a delete through one clears both.
    const [blockA, blockB] = [storeA.limiter({ name: 'test:block', points: 1, duration: 60, blockDuration: 900 }), storeB.limiter({ name: 'test:block', points: 1, duration: 60, blockDuration: 900 })];
    await blockA.consume('user|addr');
    await expect(blockA.consume('user|addr')).rejects.toBeInstanceOf(RateLimiterRes);
    expect((await blockB.get('user|addr'))?.msBeforeNext).toBeGreaterThan(800_000);
    expect(await blockB.delete('user|addr')).toBe(true);
    expect(await blockA.get('user|addr')).toBeNull();

    // Counters that expired over an hour ago are deleted; the rest stay.
    await two.insertInto('rate_limits').values({ key: 'test:old:x', points: 3, expire: Date.now() - 2 * 3_600_000 }).execute();
    expect(await storeA.prune()).toBe(1);
    expect((await limitB.get('203.0.113.9'))?.consumedPoints).toBe(4);
  });

  it('count in memory while the database cannot answer, instead of refusing or admitting everyone', async () => {
    const db = await openDatabase(await databases.target('postgres'));
    const limiter = rateLimitStore(db).limiter({ name: 'test:insured', points: 2, duration: 60 });
    await db.destroy();
    await limiter.consume('k');
    await limiter.consume('k');
    await expect(limiter.consume('k')).rejects.toBeInstanceOf(RateLimiterRes);
  });
});
