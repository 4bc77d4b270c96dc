-- Learners and their browser sessions. A learner starts as a guest (a random id behind an
-- httpOnly cookie); accounts attach to the same row later, so progress is never lost.
CREATE TABLE learners (
  id TEXT PRIMARY KEY,
  display_name TEXT,
  created_at TEXT NOT NULL
);

-- Only a hash of the session token is stored: a leaked database does not leak sessions.
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_learner ON sessions (learner_id);

-- Progress is keyed by the lesson's canonical id, which survives renames of file and slug.
CREATE TABLE lesson_progress (
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  canonical_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('started', 'completed')),
  last_section TEXT,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  completed_at TEXT,
  PRIMARY KEY (learner_id, canonical_id)
);

-- Every answer a learner submits, right or wrong, with the time it took them.
CREATE TABLE quiz_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  canonical_id TEXT NOT NULL,
  question_id TEXT NOT NULL,
  choice TEXT NOT NULL,
  correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
  time_ms INTEGER,
  answered_at TEXT NOT NULL
);
CREATE INDEX quiz_attempts_learner_lesson ON quiz_attempts (learner_id, canonical_id, question_id);
