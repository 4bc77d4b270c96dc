import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { LtiPlatformRepository, StoredKey } from '../db/lti-platforms.ts';

export const TOOL_ALG = 'RS256';
const DAY_MS = 86_400_000;

export interface SigningKey {
  kid: string;
  key: CryptoKey;
}

/**
 * The tool's RSA key pairs, kept in the database. Three may be published at once: `next`
 * (published ahead, so platforms that cache our JWKS already know it when it starts signing),
 * `current` (signs), and `previous` (still published for `overlapMs` after a rotation, so
 * anything it signed can still be verified). The current key is rotated when it is older than
 * `rotationDays` (0: only on demand), lazily, when something is about to be signed.
 */
export class ToolKeys {
  private readonly repo: LtiPlatformRepository;
  private readonly rotationDays: number;
  private readonly overlapMs: number;
  private readonly now: () => number;
  private readonly imported = new Map<string, CryptoKey>();
  private busy: Promise<void> | undefined;

  constructor(repo: LtiPlatformRepository, options: { rotationDays: number; overlapMs?: number; now?: () => number }) {
    this.repo = repo;
    this.rotationDays = options.rotationDays;
    this.overlapMs = options.overlapMs ?? 2 * DAY_MS;
    this.now = options.now ?? Date.now;
  }

  private async generate(state: StoredKey['state'], now: number): Promise<StoredKey> {
    const { publicKey, privateKey } = await generateKeyPair(TOOL_ALG, { modulusLength: 2048, extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const created = new Date(now).toISOString();
    return {
      kid,
      privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: TOOL_ALG }),
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg: TOOL_ALG, use: 'sig' }),
      state,
      createdAt: created,
      activatedAt: state === 'current' ? created : null,
      retireAt: null,
    };
  }

  /** One rotation at a time in this process; concurrent callers wait for it. */
  private exclusive(work: () => Promise<void>): Promise<void> {
    const run = (this.busy ?? Promise.resolve()).then(work);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** next → current, current → previous (published until the overlap ends), and a new next. */
  rotate(): Promise<void> {
    return this.exclusive(async () => {
      const now = this.now();
      const keys = await this.repo.keys();
      const next = keys.find((k) => k.state === 'next');
      const current = keys.find((k) => k.state === 'current');
      const add: StoredKey[] = [];
      if (!next) add.push(await this.generate('current', now));
      add.push(await this.generate('next', now));
      await this.repo.rotateKeys({ now: new Date(now).toISOString(), retireCurrentAt: current ? new Date(now + this.overlapMs).toISOString() : null, promote: next?.kid ?? null, add });
    });
  }

  private dueForRotation(current: StoredKey | undefined): boolean {
    if (!current) return true;
    if (this.rotationDays <= 0) return false;
    return this.now() - Date.parse(current.activatedAt ?? current.createdAt) > this.rotationDays * DAY_MS;
  }

  /** The key that signs now (made on first use, rotated when due). */
  async signing(): Promise<SigningKey> {
    let current = (await this.repo.keys()).find((k) => k.state === 'current');
    if (this.dueForRotation(current)) {
      await this.rotate();
      current = (await this.repo.keys()).find((k) => k.state === 'current');
    }
    if (!current) throw new Error('no current LTI signing key after a rotation');
    let key = this.imported.get(current.kid);
    if (!key) {
      key = (await importJWK(JSON.parse(current.privateJwk) as JWK, TOOL_ALG)) as CryptoKey;
      this.imported.set(current.kid, key);
    }
    return { kid: current.kid, key };
  }

  /** The public keys platforms may verify our signatures with (made on first use). */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (!(await this.repo.keys()).some((k) => k.state === 'current')) await this.signing();
    const now = new Date(this.now()).toISOString();
    const keys = (await this.repo.keys()).filter((k) => k.state !== 'previous' || (k.retireAt !== null && k.retireAt > now));
    return { keys: keys.map((k) => JSON.parse(k.publicJwk) as JWK) };
  }
}
