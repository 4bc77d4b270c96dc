-- Accounts live on the learner rows that already carry progress: a guest who signs up keeps
-- everything they did. Workshop participants are learners too, tied to their workshop.
ALTER TABLE learners ADD COLUMN kind TEXT NOT NULL DEFAULT 'guest' CHECK (kind IN ('guest', 'account', 'participant'));
ALTER TABLE learners ADD COLUMN role TEXT NOT NULL DEFAULT 'learner' CHECK (role IN ('learner', 'instructor', 'admin'));
ALTER TABLE learners ADD COLUMN username TEXT;
ALTER TABLE learners ADD COLUMN password_hash TEXT;
ALTER TABLE learners ADD COLUMN workshop_id TEXT;
ALTER TABLE learners ADD COLUMN last_seen_at TEXT;
CREATE UNIQUE INDEX learners_username ON learners (username) WHERE username IS NOT NULL;
CREATE INDEX learners_workshop ON learners (workshop_id) WHERE workshop_id IS NOT NULL;

-- The one-time token that lets the first admin be created from the browser.
CREATE TABLE setup_tokens (
  token_hash TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  used_at TEXT
);

-- Workshops: an instructor's room for a cohort, joined with a code.
CREATE TABLE workshops (
  id TEXT PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  instructor_id TEXT NOT NULL REFERENCES learners (id),
  lessons TEXT NOT NULL,
  seats INTEGER NOT NULL,
  sandbox_size TEXT NOT NULL CHECK (sandbox_size IN ('small', 'medium', 'large')),
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('scheduled', 'ended')),
  created_at TEXT NOT NULL,
  ended_at TEXT
);
CREATE INDEX workshops_instructor ON workshops (instructor_id, created_at);

-- What an instructor said to the whole room.
CREATE TABLE workshop_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workshop_id TEXT NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
  text TEXT NOT NULL,
  sent_at TEXT NOT NULL
);
