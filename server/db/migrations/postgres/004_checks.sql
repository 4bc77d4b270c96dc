-- PostgreSQL twin of sqlite/004_checks.sql.
CREATE TABLE check_runs (
  id TEXT PRIMARY KEY,
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  canonical_id TEXT NOT NULL,
  lesson TEXT NOT NULL,
  exercise TEXT,
  namespace TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'error')),
  report TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX check_runs_learner ON check_runs (learner_id, canonical_id, started_at);

CREATE TABLE exercise_progress (
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  canonical_id TEXT NOT NULL,
  exercise TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  passed_at TEXT,
  last_status TEXT NOT NULL CHECK (last_status IN ('passed', 'failed', 'error')),
  last_checked_at TEXT NOT NULL,
  PRIMARY KEY (learner_id, canonical_id, exercise)
);
