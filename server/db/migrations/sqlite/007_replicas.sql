-- Each server process (replica) on this database and when it last said it was alive, in the
-- database's own clock: a check run belongs to the replica grading it and is abandoned (marked
-- error) only once its owner has stopped beating, so one replica's start never ends another's.
CREATE TABLE replicas (
  id TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL
);

-- The replica that started the run (NULL for runs from before this version: nobody owns them).
ALTER TABLE check_runs ADD COLUMN replica_id TEXT;
CREATE INDEX check_runs_running ON check_runs (replica_id) WHERE status = 'running';
