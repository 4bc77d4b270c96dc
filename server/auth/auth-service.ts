import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Learner, LearnerRepository, Role } from '../db/learners.ts';
import { memoryRateLimits, type RateLimitStore } from '../db/rate-limits.ts';
import { Conflict, Forbidden, RateLimited, Unauthenticated } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

/** Failed sign-ins allowed per username and address, and per address, in a quarter hour. */
export const LOGIN_LIMITS = { perAccount: 5, perAddress: 30, windowSeconds: 15 * 60 } as const;

/**
 * Accounts and sign-in. Every sign-in starts a new session (the token a visitor had before is
 * never promoted, so a planted cookie cannot become a signed-in session), failures are counted
 * per account and address and refused for a while past the limit, and the answer never says
 * whether the username exists. The counts are shared by every replica on PostgreSQL (the
 * store given), so a guesser gains nothing by reaching several.
 */
export class AuthService {
  private readonly learners: LearnerRepository;
  private readonly log: Logger;
  private readonly perAccount: RateLimiterAbstract;
  private readonly perAddress: RateLimiterAbstract;

  constructor(deps: { learners: LearnerRepository; logger: Logger; limits?: RateLimitStore }) {
    this.learners = deps.learners;
    this.log = deps.logger.child({ component: 'auth' });
    const store = deps.limits ?? memoryRateLimits();
    const window = { duration: LOGIN_LIMITS.windowSeconds, blockDuration: LOGIN_LIMITS.windowSeconds };
    this.perAccount = store.limiter({ name: 'login:account', points: LOGIN_LIMITS.perAccount, ...window });
    this.perAddress = store.limiter({ name: 'login:address', points: LOGIN_LIMITS.perAddress, ...window });
  }

  private async blocked(accountKey: string, address: string): Promise<number | undefined> {
    const [account, ip] = await Promise.all([this.perAccount.get(accountKey), this.perAddress.get(address)]);
    const wait = [
      account && account.consumedPoints >= LOGIN_LIMITS.perAccount ? account.msBeforeNext : 0,
      ip && ip.consumedPoints >= LOGIN_LIMITS.perAddress ? ip.msBeforeNext : 0,
    ];
    const ms = Math.max(...wait);
    return ms > 0 ? Math.ceil(ms / 1000) : undefined;
  }

  private async fail(accountKey: string, address: string): Promise<void> {
    for (const [limiter, key] of [
      [this.perAccount, accountKey],
      [this.perAddress, address],
    ] as const) {
      try {
        await limiter.consume(key);
      } catch (error) {
        // Past the limit the limiter answers with a result, not an error: that is the block.
        if (!(error instanceof RateLimiterRes)) throw error;
      }
    }
  }

  /** Checks a password; returns a new session token for the account. */
  async login(username: string, password: string, address: string): Promise<{ learner: Learner; token: string }> {
    const key = `${username}|${address}`;
    const wait = await this.blocked(key, address);
    if (wait !== undefined) {
      this.log.warn({ username, address }, 'sign-in refused: too many failed attempts');
      throw new RateLimited(`too many failed sign-ins; try again in ${Math.ceil(wait / 60)} minute(s)`, { retryAfterSeconds: wait });
    }
    const stored = await this.learners.passwordHashOf(username);
    const ok = await verifyPassword(stored?.hash, password);
    if (!ok || !stored) {
      await this.fail(key, address);
      this.log.info({ username, address }, 'failed sign-in');
      throw new Unauthenticated('wrong username or password');
    }
    await this.perAccount.delete(key);
    const learner = await this.learners.byId(stored.learnerId);
    if (!learner) throw new Unauthenticated('wrong username or password');
    this.log.info({ username, learnerId: learner.id }, 'signed in');
    return { learner, token: await this.learners.newSession(learner.id) };
  }

  /** A new account; a guest signing up keeps their progress on the same row. */
  async register(input: { username: string; password: string; displayName: string; role?: Role; fromGuest?: string | undefined }): Promise<{ learner: Learner; token: string }> {
    const created = await this.learners.createAccount({ username: input.username, passwordHash: await hashPassword(input.password), displayName: input.displayName, role: input.role ?? 'learner', fromGuest: input.fromGuest });
    if (created === 'taken') throw new Conflict(`the username "${input.username}" is taken`);
    this.log.info({ username: input.username, role: created.role }, 'account created');
    return { learner: created, token: await this.learners.newSession(created.id) };
  }

  /** The first admin, with the one-time token printed at first start. */
  async setup(input: { token: string; username: string; password: string; displayName: string }): Promise<{ learner: Learner; token: string }> {
    if (await this.learners.hasAdmin()) throw new Forbidden('this kubedojo already has an admin; sign in instead');
    if (!(await this.learners.consumeSetupToken(input.token))) throw new Forbidden('the setup token is not valid (it works once, and only the newest link works: the server logs a new one when it restarts, or when another replica takes over, while there is no admin)');
    return this.register({ ...input, role: 'admin' });
  }
}
