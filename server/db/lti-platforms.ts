import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { changed, type Db } from './database.ts';
import type { Database } from './schema.ts';
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

type PlatformRow = Selectable<Database['lti_platforms']>;

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

  private async platformOf(row: PlatformRow, db: Db = this.db): Promise<Platform> {
    const deployments = await db.selectFrom('lti_deployments').select('deployment_id').where('platform_id', '=', row.id).orderBy('deployment_id').execute();
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
      deployments: deployments.map((d) => d.deployment_id),
      registeredBy: row.registered_by,
      createdAt: row.created_at,
    };
  }

  /** Adds a platform, or (same issuer and client id) updates it and adds its deployments. */
  upsert(input: PlatformInput): Promise<Platform> {
    return this.db.transaction().execute(async (trx): Promise<Platform> => {
      const existing = await trx.selectFrom('lti_platforms').select('id').where('issuer', '=', input.issuer).where('client_id', '=', input.clientId).executeTakeFirst();
      const id = existing?.id ?? randomUUID();
      const fields = { name: input.name, auth_url: input.authUrl, token_url: input.tokenUrl, jwks_url: input.jwksUrl, token_audience: input.tokenAudience, frame_origins: JSON.stringify(input.frameOrigins) };
      if (existing) {
        await trx.updateTable('lti_platforms').set(fields).where('id', '=', id).execute();
      } else {
        await trx
          .insertInto('lti_platforms')
          .values({ id, ...fields, issuer: input.issuer, client_id: input.clientId, registered_by: input.registeredBy, created_at: new Date().toISOString() })
          .execute();
      }
      for (const deployment of input.deployments) {
        await trx.insertInto('lti_deployments').values({ platform_id: id, deployment_id: deployment }).onConflict((oc) => oc.doNothing()).execute();
      }
      const row = await trx.selectFrom('lti_platforms').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new Error('the platform just stored is missing');
      return this.platformOf(row, trx);
    });
  }

  async get(id: string): Promise<Platform | undefined> {
    const row = await this.db.selectFrom('lti_platforms').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.platformOf(row) : undefined;
  }

  async byIssuer(issuer: string): Promise<Platform[]> {
    const rows = await this.db.selectFrom('lti_platforms').selectAll().where('issuer', '=', issuer).orderBy('created_at').execute();
    return Promise.all(rows.map((r) => this.platformOf(r)));
  }

  async list(): Promise<Platform[]> {
    const rows = await this.db.selectFrom('lti_platforms').selectAll().orderBy('created_at').execute();
    return Promise.all(rows.map((r) => this.platformOf(r)));
  }

  /** Courses keep their workshops (results stay with the instructors); only the LTI side goes. */
  async remove(id: string): Promise<boolean> {
    return changed(await this.db.deleteFrom('lti_platforms').where('id', '=', id).executeTakeFirst()) === 1;
  }

  // ---- the tool's keys

  keys(): Promise<StoredKey[]> {
    return this.db
      .selectFrom('lti_keys')
      .select(['kid', 'private_jwk as privateJwk', 'public_jwk as publicJwk', 'state', 'created_at as createdAt', 'activated_at as activatedAt', 'retire_at as retireAt'])
      .orderBy('created_at')
      .execute();
  }

  /** Applies a rotation as one transaction: retire, promote, add. */
  async rotateKeys(change: { now: string; retireCurrentAt: string | null; promote: string | null; add: StoredKey[] }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('lti_keys').where('state', '=', 'previous').where('retire_at', '<=', change.now).execute();
      if (change.retireCurrentAt !== null) await trx.updateTable('lti_keys').set({ state: 'previous', retire_at: change.retireCurrentAt }).where('state', '=', 'current').execute();
      if (change.promote !== null) await trx.updateTable('lti_keys').set({ state: 'current', activated_at: change.now }).where('kid', '=', change.promote).execute();
      for (const key of change.add) {
        await trx
          .insertInto('lti_keys')
          .values({ kid: key.kid, private_jwk: key.privateJwk, public_jwk: key.publicJwk, state: key.state, created_at: key.createdAt, activated_at: key.activatedAt, retire_at: key.retireAt })
          .execute();
      }
    });
  }

  // ---- one-time dynamic registration links

  async addRegistrationToken(token: string, ttlMs: number, now = Date.now()): Promise<void> {
    await this.db.insertInto('lti_registration_tokens').values({ token_hash: hashToken(token), created_at: iso(now), expires_at: iso(now + ttlMs) }).execute();
  }

  /** Whether a registration link may still be used (unused, not expired). */
  async registrationTokenValid(token: string, now = Date.now()): Promise<boolean> {
    const row = await this.db.selectFrom('lti_registration_tokens').select('token_hash').where('token_hash', '=', hashToken(token)).where('used_at', 'is', null).where('expires_at', '>', iso(now)).executeTakeFirst();
    return row !== undefined;
  }

  /** Uses a registration link up (the platform is filled in once known); false when someone else already did. */
  async useRegistrationToken(token: string, platformId: string | null, now = Date.now()): Promise<boolean> {
    const result = await this.db
      .updateTable('lti_registration_tokens')
      .set({ used_at: iso(now), platform_id: platformId })
      .where('token_hash', '=', hashToken(token))
      .where('used_at', 'is', null)
      .where('expires_at', '>', iso(now))
      .executeTakeFirst();
    return changed(result) === 1;
  }

  /** Gives a claimed link back after the registration it started failed, so the admin can retry. */
  async releaseRegistrationToken(token: string): Promise<void> {
    await this.db.updateTable('lti_registration_tokens').set({ used_at: null, platform_id: null }).where('token_hash', '=', hashToken(token)).execute();
  }

  // ---- OIDC state and nonces

  async addState(state: { state: string; platformId: string; nonce: string; targetLinkUri: string }, ttlMs: number, now = Date.now()): Promise<void> {
    await this.db.deleteFrom('lti_states').where('expires_at', '<', iso(now - 86_400_000)).execute();
    await this.db
      .insertInto('lti_states')
      .values({ state_hash: hashToken(state.state), platform_id: state.platformId, nonce: state.nonce, target_link_uri: state.targetLinkUri, expires_at: iso(now + ttlMs) })
      .execute();
  }

  /**
   * Takes a state: its platform and nonce, once. 'used' and 'expired' are told apart for the
   * error page. The update is conditional, so of two replicas taking one state only one wins.
   */
  async takeState(state: string, now = Date.now()): Promise<{ platformId: string; nonce: string; targetLinkUri: string } | 'unknown' | 'used' | 'expired'> {
    const row = await this.db
      .selectFrom('lti_states')
      .select(['platform_id as platformId', 'nonce', 'target_link_uri as targetLinkUri', 'expires_at as expiresAt', 'used_at as usedAt'])
      .where('state_hash', '=', hashToken(state))
      .executeTakeFirst();
    if (!row) return 'unknown';
    if (row.usedAt !== null) return 'used';
    if (row.expiresAt <= iso(now)) return 'expired';
    const taken = await this.db.updateTable('lti_states').set({ used_at: iso(now) }).where('state_hash', '=', hashToken(state)).where('used_at', 'is', null).executeTakeFirst();
    if (changed(taken) !== 1) return 'used';
    return { platformId: row.platformId, nonce: row.nonce, targetLinkUri: row.targetLinkUri };
  }

  /** Records a nonce as used; false when it was used before (a replayed id_token). */
  async useNonce(issuer: string, nonce: string, expiresAtMs: number, now = Date.now()): Promise<boolean> {
    await this.db.deleteFrom('lti_nonces').where('expires_at', '<', iso(now)).execute();
    const result = await this.db.insertInto('lti_nonces').values({ issuer, nonce, expires_at: iso(expiresAtMs) }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  // ---- launch tickets (a launch becomes a session in the page)

  async addTicket(ticket: string, learnerId: string, ttlMs: number, now = Date.now()): Promise<void> {
    await this.db.deleteFrom('lti_tickets').where('expires_at', '<', iso(now - 86_400_000)).execute();
    await this.db.insertInto('lti_tickets').values({ ticket_hash: hashToken(ticket), learner_id: learnerId, expires_at: iso(now + ttlMs) }).execute();
  }

  /** The learner of a ticket, once, while it is fresh (one conditional update: a ticket is never taken twice). */
  async takeTicket(ticket: string, now = Date.now()): Promise<string | undefined> {
    const row = await this.db.selectFrom('lti_tickets').select('learner_id').where('ticket_hash', '=', hashToken(ticket)).where('used_at', 'is', null).where('expires_at', '>', iso(now)).executeTakeFirst();
    if (row === undefined) return undefined;
    const taken = await this.db.updateTable('lti_tickets').set({ used_at: iso(now) }).where('ticket_hash', '=', hashToken(ticket)).where('used_at', 'is', null).executeTakeFirst();
    return changed(taken) === 1 ? row.learner_id : undefined;
  }
}
