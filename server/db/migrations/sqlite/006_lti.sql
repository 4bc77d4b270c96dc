-- LTI 1.3: kubedojo as a tool inside learning management systems (Moodle, Canvas, …).

-- A platform (an LMS registration) this tool trusts: one per issuer and client id.
CREATE TABLE lti_platforms (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  issuer TEXT NOT NULL,
  client_id TEXT NOT NULL,
  auth_url TEXT NOT NULL,
  token_url TEXT NOT NULL,
  jwks_url TEXT NOT NULL,
  -- The `aud` of our client assertions when the platform names an authorization server.
  token_audience TEXT,
  -- Origins allowed to frame kubedojo for this platform (JSON list), besides issuer and login.
  frame_origins TEXT NOT NULL DEFAULT '[]',
  registered_by TEXT NOT NULL CHECK (registered_by IN ('admin', 'dynamic')),
  created_at TEXT NOT NULL,
  UNIQUE (issuer, client_id)
);

CREATE TABLE lti_deployments (
  platform_id TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
  deployment_id TEXT NOT NULL,
  PRIMARY KEY (platform_id, deployment_id)
);

-- The tool's own signing keys. `next` is published before it signs anything, `previous` stays
-- published until retire_at: platforms that cache our JWKS never meet an unknown key.
CREATE TABLE lti_keys (
  kid TEXT PRIMARY KEY,
  private_jwk TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('next', 'current', 'previous')),
  created_at TEXT NOT NULL,
  activated_at TEXT,
  retire_at TEXT
);

-- One-time links an admin hands to an LMS for LTI Dynamic Registration (hashes only).
CREATE TABLE lti_registration_tokens (
  token_hash TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  platform_id TEXT
);

-- OIDC login state, single use, bound to the nonce sent to the platform.
CREATE TABLE lti_states (
  state_hash TEXT PRIMARY KEY,
  platform_id TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
  nonce TEXT NOT NULL UNIQUE,
  target_link_uri TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
);

-- Every nonce an accepted id_token carried: a replay is refused even under a fresh state.
CREATE TABLE lti_nonces (
  issuer TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  PRIMARY KEY (issuer, nonce)
);

-- LMS users, linked to kubedojo learners by issuer and subject.
CREATE TABLE lti_users (
  issuer TEXT NOT NULL,
  sub TEXT NOT NULL,
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  PRIMARY KEY (issuer, sub)
);
CREATE INDEX lti_users_learner ON lti_users (learner_id);

-- LMS courses (contexts), each with the workshop that is its instructors' room.
CREATE TABLE lti_contexts (
  id TEXT PRIMARY KEY,
  platform_id TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
  context_id TEXT NOT NULL,
  title TEXT NOT NULL,
  workshop_id TEXT REFERENCES workshops (id),
  memberships_url TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (platform_id, context_id)
);
CREATE INDEX lti_contexts_workshop ON lti_contexts (workshop_id);

-- Who belongs to a course: seen at launch, or listed by the platform (NRPS).
CREATE TABLE lti_members (
  context TEXT NOT NULL REFERENCES lti_contexts (id) ON DELETE CASCADE,
  sub TEXT NOT NULL,
  learner_id TEXT REFERENCES learners (id) ON DELETE SET NULL,
  name TEXT,
  roles TEXT NOT NULL DEFAULT '[]',
  instructor INTEGER NOT NULL DEFAULT 0,
  launched_at TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (context, sub)
);
CREATE INDEX lti_members_learner ON lti_members (learner_id);

-- Resource links: a lesson or one exercise placed in a course, with its gradebook column.
CREATE TABLE lti_links (
  id TEXT PRIMARY KEY,
  context TEXT NOT NULL REFERENCES lti_contexts (id) ON DELETE CASCADE,
  resource_link_id TEXT NOT NULL,
  lesson TEXT NOT NULL,
  exercise TEXT,
  title TEXT,
  line_item_url TEXT,
  line_items_url TEXT,
  ags_scopes TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  UNIQUE (context, resource_link_id)
);
CREATE INDEX lti_links_lesson ON lti_links (lesson);

-- The last score queued per link and learner: only a change is sent.
CREATE TABLE lti_results (
  link_id TEXT NOT NULL REFERENCES lti_links (id) ON DELETE CASCADE,
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  score_given REAL NOT NULL,
  score_maximum REAL NOT NULL,
  timestamp TEXT NOT NULL,
  PRIMARY KEY (link_id, learner_id)
);

-- Scores waiting for the platform: delivered in id order per link and user, retried with
-- backoff while the platform is unreachable, kept across restarts.
CREATE TABLE lti_score_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  link_id TEXT NOT NULL REFERENCES lti_links (id) ON DELETE CASCADE,
  learner_id TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  score TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at TEXT NOT NULL,
  delivered_at TEXT
);
CREATE INDEX lti_score_queue_pending ON lti_score_queue (state, link_id, user_id, id);

-- One-time tickets that turn a launch into a session inside the LMS frame, without cookies.
CREATE TABLE lti_tickets (
  ticket_hash TEXT PRIMARY KEY,
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  expires_at TEXT NOT NULL,
  used_at TEXT
);

-- Deep linking requests waiting for the instructor's choice from the catalog.
CREATE TABLE lti_deep_links (
  id TEXT PRIMARY KEY,
  platform_id TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
  deployment_id TEXT NOT NULL,
  learner_id TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
  return_url TEXT NOT NULL,
  data TEXT,
  accept_multiple INTEGER NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
);
