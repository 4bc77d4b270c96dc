-- PostgreSQL twin of sqlite/001_instance.sql: the same tables and columns; times are ISO-8601
-- text and booleans 0/1 integers as on SQLite, so the repositories read the same values.
CREATE TABLE instance (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  instance_id TEXT NOT NULL,
  created_at TEXT NOT NULL
);
