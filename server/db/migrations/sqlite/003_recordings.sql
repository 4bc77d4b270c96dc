-- Terminal recordings (asciicast v2 files under <data-dir>/recordings); rows are the index.
CREATE TABLE recordings (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  learner_key TEXT NOT NULL,
  lesson TEXT NOT NULL,
  path TEXT NOT NULL,
  cols INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  bytes INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  ended_at TEXT
);
CREATE INDEX recordings_learner ON recordings (learner_key, started_at);
CREATE INDEX recordings_started ON recordings (started_at);
