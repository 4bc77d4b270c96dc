import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';
import { hashToken } from './learners.ts';

/** An LMS registration: who signs the launches, and where its OAuth and JWKS endpoints are. */
export interface Platform {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  tokenAudience: string | null;
  frameOrigins: string[];
  deployments: string[];
  registeredBy: 'admin' | 'dynamic';
  createdAt: string;
}

export type PlatformInput = Omit<Platform, 'id' | 'createdAt'>;

export interface StoredKey {
  kid: string;
  privateJwk: string;
  publicJwk: string;
  state: 'next' | 'current' | 'previous';
  createdAt: string;
  activatedAt: string | null;
  retireAt: string | null;
}

interface PlatformRow {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  auth_url: string;
  token_url: string;
  jwks_url: string;
  token_audience: string | null;
  frame_origins: string;
  registered_by: Platform['registeredBy'];
  created_at: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Platforms and the tool's own protocol state: signing keys, one-time registration links, OIDC
 * states and used nonces, and launch tickets. Secrets that arrive from outside (registration
 * links, states, tickets) are stored as hashes only.
 */
export class LtiPlatformRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  private platformOf(row: PlatformRow): Platform {
    const deployments = this.db.prepare('SELECT deployment_id FROM lti_deployments WHERE platform_id = ? ORDER BY deployment_id').pluck().all(row.id) as string[];
    return {
      id: row.id,
      name: row.name,
      issuer: row.issuer,
      clientId: row.client_id,
      authUrl: row.auth_url,
      tokenUrl: row.token_url,
      jwksUrl: row.jwks_url,
      tokenAudience: row.token_audience,
      frameOrigins: JSON.parse(row.frame_origins) as string[],
      deployments,
      registeredBy: row.registered_by,
      createdAt: row.created_at,
    };
  }

  /** Adds a platform, or (same issuer and client id) updates it and adds its deployments. */
  upsert(input: PlatformInput): Platform {
    return this.db.transaction((): Platform => {
      const existing = this.db.prepare('SELECT id FROM lti_platforms WHERE issuer = ? AND client_id = ?').pluck().get(input.issuer, input.clientId) as string | undefined;
      const id = existing ?? randomUUID();
      const row = { id, name: input.name, issuer: input.issuer, clientId: input.clientId, authUrl: input.authUrl, tokenUrl: input.tokenUrl, jwksUrl: input.jwksUrl, tokenAudience: input.tokenAudience, frameOrigins: JSON.stringify(input.frameOrigins), registeredBy: input.registeredBy, now: new Date().toISOString() };
      if (existing) {
        this.db
          .prepare('UPDATE lti_platforms SET name = @name, auth_url = @authUrl, token_url = @tokenUrl, jwks_url = @jwksUrl, token_audience = @tokenAudience, frame_origins = @frameOrigins WHERE id = @id')
          .run(row);
      } else {
        this.db
          .prepare(
            `INSERT INTO lti_platforms (id, name, issuer, client_id, auth_url, token_url, jwks_url, token_audience, frame_origins, registered_by, created_at)
             VALUES (@id, @name, @issuer, @clientId, @authUrl, @tokenUrl, @jwksUrl, @tokenAudience, @frameOrigins, @registeredBy, @now)`,
          )
          .run(row);
      }
      const add = this.db.prepare('INSERT OR IGNORE INTO lti_deployments (platform_id, deployment_id) VALUES (?, ?)');
      for (const deployment of input.deployments) add.run(id, deployment);
      const platform = this.get(id);
      if (!platform) throw new Error('the platform just stored is missing');
      return platform;
    })();
  }

  get(id: string): Platform | undefined {
    const row = this.db.prepare('SELECT * FROM lti_platforms WHERE id = ?').get(id) as PlatformRow | undefined;
    return row ? this.platformOf(row) : undefined;
  }

  byIssuer(issuer: string): Platform[] {
    return (this.db.prepare('SELECT * FROM lti_platforms WHERE issuer = ? ORDER BY created_at').all(issuer) as PlatformRow[]).map((r) => this.platformOf(r));
  }

  list(): Platform[] {
    return (this.db.prepare('SELECT * FROM lti_platforms ORDER BY created_at').all() as PlatformRow[]).map((r) => this.platformOf(r));
  }

  remove(id: string): boolean {
    return this.db.transaction(() => {
      // Courses keep their workshops (results stay with the instructors); only the LTI side goes.
      return this.db.prepare('DELETE FROM lti_platforms WHERE id = ?').run(id).changes === 1;
    })();
  }

  // ---- the tool's keys

  keys(): StoredKey[] {
    return this.db
      .prepare('SELECT kid, private_jwk AS privateJwk, public_jwk AS publicJwk, state, created_at AS createdAt, activated_at AS activatedAt, retire_at AS retireAt FROM lti_keys ORDER BY created_at')
      .all() as StoredKey[];
  }

  /** Applies a rotation as one transaction: retire, promote, add. */
  rotateKeys(change: { now: string; retireCurrentAt: string | null; promote: string | null; add: StoredKey[] }): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM lti_keys WHERE state = 'previous' AND retire_at <= ?").run(change.now);
      if (change.retireCurrentAt !== null) this.db.prepare("UPDATE lti_keys SET state = 'previous', retire_at = ? WHERE state = 'current'").run(change.retireCurrentAt);
      if (change.promote !== null) this.db.prepare("UPDATE lti_keys SET state = 'current', activated_at = ? WHERE kid = ?").run(change.now, change.promote);
      const insert = this.db.prepare('INSERT INTO lti_keys (kid, private_jwk, public_jwk, state, created_at, activated_at, retire_at) VALUES (@kid, @privateJwk, @publicJwk, @state, @createdAt, @activatedAt, @retireAt)');
      for (const key of change.add) insert.run(key);
    })();
  }

  // ---- one-time dynamic registration links

  addRegistrationToken(token: string, ttlMs: number, now = Date.now()): void {
    this.db.prepare('INSERT INTO lti_registration_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)').run(hashToken(token), iso(now), iso(now + ttlMs));
  }

  /** Whether a registration link may still be used (unused, not expired). */
  registrationTokenValid(token: string, now = Date.now()): boolean {
    return this.db.prepare('SELECT 1 FROM lti_registration_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?').get(hashToken(token), iso(now)) !== undefined;
  }

  /** Uses a registration link up (the platform is filled in once known); false when someone else already did. */
  useRegistrationToken(token: string, platformId: string | null, now = Date.now()): boolean {
    return this.db.prepare('UPDATE lti_registration_tokens SET used_at = ?, platform_id = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?').run(iso(now), platformId, hashToken(token), iso(now)).changes === 1;
  }

  /** Gives a claimed link back after the registration it started failed, so the admin can retry. */
  releaseRegistrationToken(token: string): void {
    this.db.prepare('UPDATE lti_registration_tokens SET used_at = NULL, platform_id = NULL WHERE token_hash = ?').run(hashToken(token));
  }

  // ---- OIDC state and nonces

  addState(state: { state: string; platformId: string; nonce: string; targetLinkUri: string }, ttlMs: number, now = Date.now()): void {
    this.db.prepare('DELETE FROM lti_states WHERE expires_at < ?').run(iso(now - 86_400_000));
    this.db
      .prepare('INSERT INTO lti_states (state_hash, platform_id, nonce, target_link_uri, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(hashToken(state.state), state.platformId, state.nonce, state.targetLinkUri, iso(now + ttlMs));
  }

  /** Takes a state: its platform and nonce, once. 'used' and 'expired' are told apart for the error page. */
  takeState(state: string, now = Date.now()): { platformId: string; nonce: string; targetLinkUri: string } | 'unknown' | 'used' | 'expired' {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT platform_id AS platformId, nonce, target_link_uri AS targetLinkUri, expires_at AS expiresAt, used_at AS usedAt FROM lti_states WHERE state_hash = ?').get(hashToken(state)) as
        | { platformId: string; nonce: string; targetLinkUri: string; expiresAt: string; usedAt: string | null }
        | undefined;
      if (!row) return 'unknown' as const;
      if (row.usedAt !== null) return 'used' as const;
      if (row.expiresAt <= iso(now)) return 'expired' as const;
      this.db.prepare('UPDATE lti_states SET used_at = ? WHERE state_hash = ?').run(iso(now), hashToken(state));
      return { platformId: row.platformId, nonce: row.nonce, targetLinkUri: row.targetLinkUri };
    })();
  }

  /** Records a nonce as used; false when it was used before (a replayed id_token). */
  useNonce(issuer: string, nonce: string, expiresAtMs: number, now = Date.now()): boolean {
    this.db.prepare('DELETE FROM lti_nonces WHERE expires_at < ?').run(iso(now));
    return this.db.prepare('INSERT OR IGNORE INTO lti_nonces (issuer, nonce, expires_at) VALUES (?, ?, ?)').run(issuer, nonce, iso(expiresAtMs)).changes === 1;
  }

  // ---- launch tickets (a launch becomes a session in the page)

  addTicket(ticket: string, learnerId: string, ttlMs: number, now = Date.now()): void {
    this.db.prepare('DELETE FROM lti_tickets WHERE expires_at < ?').run(iso(now - 86_400_000));
    this.db.prepare('INSERT INTO lti_tickets (ticket_hash, learner_id, expires_at) VALUES (?, ?, ?)').run(hashToken(ticket), learnerId, iso(now + ttlMs));
  }

  /** The learner of a ticket, once, while it is fresh. */
  takeTicket(ticket: string, now = Date.now()): string | undefined {
    return this.db.transaction(() => {
      const learnerId = this.db.prepare('SELECT learner_id FROM lti_tickets WHERE ticket_hash = ? AND used_at IS NULL AND expires_at > ?').pluck().get(hashToken(ticket), iso(now)) as string | undefined;
      if (learnerId !== undefined) this.db.prepare('UPDATE lti_tickets SET used_at = ? WHERE ticket_hash = ?').run(iso(now), hashToken(ticket));
      return learnerId;
    })();
  }
}
