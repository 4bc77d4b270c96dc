import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../server/db/database.ts';
import { OpenTerminalRepository } from '../../server/db/open-terminals.ts';
import { ReplicaRepository } from '../../server/db/replicas.ts';
import { rateLimitStore } from '../../server/db/rate-limits.ts';
import { DIALECTS, testDatabases } from '../helpers/databases.ts';

/**
 * What replicas on one database share, on both databases: which terminals are open (each
 * replica's own rows, counted while that replica's heartbeat is fresh) and the rate-limit counters (one count on
 * PostgreSQL whichever replica counts; SQLite is one process and counts in memory).
 */

const databases = testDatabases();

describe.each(DIALECTS)('open terminals on %s', (dialect) => {
  const STALE_MS = 45_000;
  let db: Db;
  let replicas: ReplicaRepository;
  let a: OpenTerminalRepository;
  let b: OpenTerminalRepository;
  beforeAll(async () => {
    db = await databases.open(dialect);
    replicas = new ReplicaRepository(db);
    await replicas.beat('replica-a');
    await replicas.beat('replica-b');
    a = new OpenTerminalRepository(db, 'replica-a', STALE_MS);
    b = new OpenTerminalRepository(db, 'replica-b', STALE_MS);
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

  it('counts a replica\'s rows only while it beats; once the leader forgets it, its rows go', async () => {
    await a.opened('kd-crashed');
    await b.opened('kd-alive');
    expect(await b.openAmong(['kd-crashed', 'kd-alive'])).toEqual(new Set(['kd-crashed', 'kd-alive']));
    // A crashes: its heartbeat stops (here: it is a minute old).
    await db.updateTable('replicas').set({ heartbeat_at: new Date(Date.now() - STALE_MS - 60_000).toISOString() }).where('id', '=', 'replica-a').execute();
    expect(await b.openAmong(['kd-crashed', 'kd-alive'])).toEqual(new Set(['kd-alive']));
    expect(await b.count()).toBe(1);
    // The leader's sweep forgets A, then its rows.
    expect(await replicas.forget(STALE_MS)).toBe(1);
    expect(await b.forgetGone()).toBe(1);
    expect(await db.selectFrom('open_terminals').select('namespace').execute()).toEqual([{ namespace: 'kd-alive' }]);
    await b.opened('kd-other');
    await b.closed('kd-alive');
    await b.closed('kd-other');
    expect(await b.openAmong(['kd-crashed', 'kd-alive', 'kd-other'])).toEqual(new Set());
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
