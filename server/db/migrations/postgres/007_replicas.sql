-- PostgreSQL twin of sqlite/007_replicas.sql.
CREATE TABLE replicas (
  id TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL
);

ALTER TABLE check_runs ADD COLUMN replica_id TEXT;
CREATE INDEX check_runs_running ON check_runs (replica_id) WHERE status = 'running';
