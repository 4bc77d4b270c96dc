-- What several replicas on one database must share.

-- The terminal sessions each server (replica) holds, so the grid's and the admin list's
-- "terminal open" is true whichever replica holds the shell. A row counts while its replica
-- beats (the table replicas, 007); a crashed replica's rows count as closed once its heartbeat
-- is stale, and go when the leader forgets it.
CREATE TABLE open_terminals (
  namespace TEXT NOT NULL,
  replica TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  PRIMARY KEY (namespace, replica)
);
CREATE INDEX open_terminals_replica ON open_terminals (replica);

-- Rate-limit counters shared by the replicas (rate-limiter-flexible's RateLimiterPostgres
-- layout: key, points consumed, expiry in epoch milliseconds). SQLite means one process, whose
-- counters stay in memory: the table is here so both databases keep the same schema.
CREATE TABLE rate_limits (
  key TEXT PRIMARY KEY,
  points INTEGER NOT NULL DEFAULT 0,
  expire BIGINT
);
CREATE INDEX rate_limits_expire ON rate_limits (expire);

-- Which replica wrote a recording's file (in its own data directory, unless they share one).
ALTER TABLE recordings ADD COLUMN replica TEXT;
