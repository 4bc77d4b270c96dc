-- PostgreSQL twin of sqlite/008_shared.sql.
CREATE TABLE open_terminals (
  namespace TEXT NOT NULL,
  replica TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  PRIMARY KEY (namespace, replica)
);
CREATE INDEX open_terminals_replica ON open_terminals (replica);

CREATE TABLE rate_limits (
  key TEXT PRIMARY KEY,
  points INTEGER NOT NULL DEFAULT 0,
  expire BIGINT
);
CREATE INDEX rate_limits_expire ON rate_limits (expire);

ALTER TABLE recordings ADD COLUMN replica TEXT;
