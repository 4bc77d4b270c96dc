import type { Generated } from 'kysely';

/**
 * The tables, as Kysely sees them (the same on SQLite and PostgreSQL). Times are ISO-8601 text
 * and booleans 0/1 integers on both, as the SQLite schema has always stored them, so every
 * repository reads the same values whichever database is behind it.
 */

export interface Database {
  schema_migrations: { version: number; name: string; applied_at: string };
  instance: { id: number; instance_id: string; created_at: string };
  learners: {
    id: string;
    display_name: string | null;
    created_at: string;
    kind: Generated<'guest' | 'account' | 'participant'>;
    role: Generated<'learner' | 'instructor' | 'admin'>;
    username: string | null;
    password_hash: string | null;
    workshop_id: string | null;
    last_seen_at: string | null;
  };
  sessions: { token_hash: string; learner_id: string; created_at: string; last_seen_at: string; expires_at: string };
  lesson_progress: {
    learner_id: string;
    canonical_id: string;
    status: 'started' | 'completed';
    last_section: string | null;
    started_at: string;
    updated_at: string;
    completed_at: string | null;
  };
  quiz_attempts: {
    id: Generated<number>;
    learner_id: string;
    canonical_id: string;
    question_id: string;
    choice: string;
    correct: number;
    time_ms: number | null;
    answered_at: string;
  };
  recordings: {
    id: string;
    namespace: string;
    learner_key: string;
    lesson: string;
    path: string;
    cols: number;
    rows: number;
    bytes: Generated<number>;
    started_at: string;
    ended_at: string | null;
    /** The replica whose data directory holds the file (null: written before replicas were recorded). */
    replica: Generated<string | null>;
  };
  check_runs: {
    id: string;
    learner_id: string;
    canonical_id: string;
    lesson: string;
    exercise: string | null;
    namespace: string;
    status: 'running' | 'passed' | 'failed' | 'error';
    report: string | null;
    started_at: string;
    finished_at: string | null;
    /** The replica (replicas.id) grading it; null on runs from before replicas were recorded. */
    replica_id: string | null;
  };
  /** Server processes sharing the database, with their last heartbeat (the database's clock). */
  replicas: { id: string; started_at: string; heartbeat_at: string };
  exercise_progress: {
    learner_id: string;
    canonical_id: string;
    exercise: string;
    attempts: Generated<number>;
    passed_at: string | null;
    last_status: 'passed' | 'failed' | 'error';
    last_checked_at: string;
  };
  setup_tokens: { token_hash: string; created_at: string; used_at: string | null };
  workshops: {
    id: string;
    code: string;
    title: string;
    instructor_id: string;
    lessons: string;
    seats: number;
    sandbox_size: 'small' | 'medium' | 'large';
    starts_at: string;
    ends_at: string;
    state: 'scheduled' | 'ended';
    created_at: string;
    ended_at: string | null;
  };
  workshop_messages: { id: Generated<number>; workshop_id: string; text: string; sent_at: string };
  lti_platforms: {
    id: string;
    name: string;
    issuer: string;
    client_id: string;
    auth_url: string;
    token_url: string;
    jwks_url: string;
    token_audience: string | null;
    frame_origins: Generated<string>;
    registered_by: 'admin' | 'dynamic';
    created_at: string;
  };
  lti_deployments: { platform_id: string; deployment_id: string };
  lti_keys: {
    kid: string;
    private_jwk: string;
    public_jwk: string;
    state: 'next' | 'current' | 'previous';
    created_at: string;
    activated_at: string | null;
    retire_at: string | null;
  };
  lti_registration_tokens: { token_hash: string; created_at: string; expires_at: string; used_at: string | null; platform_id: string | null };
  lti_states: { state_hash: string; platform_id: string; nonce: string; target_link_uri: string; expires_at: string; used_at: string | null };
  lti_nonces: { issuer: string; nonce: string; expires_at: string };
  lti_users: { issuer: string; sub: string; learner_id: string; created_at: string };
  lti_contexts: {
    id: string;
    platform_id: string;
    context_id: string;
    title: string;
    workshop_id: string | null;
    memberships_url: string | null;
    created_at: string;
  };
  lti_members: {
    context: string;
    sub: string;
    learner_id: string | null;
    name: string | null;
    roles: Generated<string>;
    instructor: Generated<number>;
    launched_at: string | null;
    updated_at: string;
  };
  lti_links: {
    id: string;
    context: string;
    resource_link_id: string;
    lesson: string;
    exercise: string | null;
    title: string | null;
    line_item_url: string | null;
    line_items_url: string | null;
    ags_scopes: Generated<string>;
    created_at: string;
  };
  lti_results: { link_id: string; learner_id: string; score_given: number; score_maximum: number; timestamp: string };
  lti_score_queue: {
    id: Generated<number>;
    link_id: string;
    learner_id: string;
    platform_id: string;
    user_id: string;
    score: string;
    state: 'pending' | 'delivered' | 'failed';
    attempts: Generated<number>;
    next_attempt_at: number;
    last_error: string | null;
    created_at: string;
    delivered_at: string | null;
  };
  lti_tickets: { ticket_hash: string; learner_id: string; expires_at: string; used_at: string | null };
  lti_deep_links: {
    id: string;
    platform_id: string;
    deployment_id: string;
    learner_id: string;
    return_url: string;
    data: string | null;
    accept_multiple: number;
    expires_at: string;
    used_at: string | null;
  };
  /** Terminal sessions held by each replica (open-terminals.ts). */
  open_terminals: { namespace: string; replica: string; opened_at: string };
  /** rate-limiter-flexible's counters, shared by the replicas on PostgreSQL (rate-limits.ts). */
  rate_limits: { key: string; points: number; expire: number | null };
}
