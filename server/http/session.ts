import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieOptions, NextFunction, Request, RequestHandler, Response } from 'express';
import { parseCookie } from 'cookie';
import type { Learner, LearnerRepository, Role } from '../db/learners.ts';
import { Forbidden, Unauthenticated } from '../errors.ts';

import { SESSION_COOKIE } from '../auth/socket-session.ts';

export { SESSION_COOKIE };
/** Double-submit CSRF token: a cookie the page's script reads and echoes in a header. */
export const CSRF_COOKIE = 'kd_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const ONE_YEAR_MS = 365 * 86_400_000;
const ACCOUNT_SESSION_MS = 14 * 86_400_000;

/** The learner of this request, if it carries a valid session. */
export function learnerOf(res: Response): Learner | undefined {
  return (res.locals as { learner?: Learner }).learner;
}

/** The learner of this request; for handlers behind `requireLearner` or `requireRole`. */
export function currentLearner(res: Response): Learner {
  const learner = learnerOf(res);
  if (!learner) throw new Error('requireLearner did not run before this handler');
  return learner;
}

/**
 * The session token a page sends in `Authorization: Bearer …` instead of a cookie: pages inside
 * an LMS's frame (LTI), where browsers withhold our cookies from a third-party frame.
 */
export function bearerOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(header);
  return match?.[1] ?? (header.startsWith('Bearer ') ? '' : undefined);
}

/** The raw session token of this request (for sign-out). */
export function sessionTokenOf(req: Request): string | undefined {
  return bearerOf(req) ?? parseCookie(req.headers.cookie ?? '')[SESSION_COOKIE];
}

/**
 * Whether cookies get the Secure flag: the request came over HTTPS (as far as --trust-proxy lets
 * Express tell), or the public URL is https, which a proxy in front may not say on each request.
 */
export function secureCookies(req: Request): boolean {
  return req.secure || (req.app.locals as { publicHttps?: boolean }).publicHttps === true;
}

function sessionCookie(req: Request, maxAge: number): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: secureCookies(req), path: '/', maxAge };
}

/** Starts a session for a learner: a new token every time, so no earlier cookie is ever promoted. */
export function setSession(req: Request, res: Response, learner: Learner, token: string): void {
  res.cookie(SESSION_COOKIE, token, sessionCookie(req, learner.kind === 'account' ? ACCOUNT_SESSION_MS : ONE_YEAR_MS));
  (res.locals as { learner?: Learner }).learner = learner;
}

export function clearSession(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: secureCookies(req), path: '/' });
}

const RANK: Record<Role, number> = { learner: 0, instructor: 1, admin: 2 };

/**
 * Reads the session cookie on every request. `requireLearner` creates a guest learner on the
 * first state-changing request, so reading never creates rows and progress is kept from the
 * first answer on. `requireRole` needs a signed-in account of at least that role.
 */
export function sessionMiddleware(
  learners: LearnerRepository,
  /** Runs before a guest is made (the per-address limit on guests); a rejection refuses the request. */
  beforeGuest: (req: Request) => Promise<void> = () => Promise.resolve(),
): {
  read: RequestHandler;
  requireLearner: RequestHandler;
  requireRole: (role: Role) => RequestHandler;
} {
  const touched = new Map<string, number>();
  const resolve = async (req: Request, res: Response): Promise<void> => {
    const bearer = bearerOf(req);
    // A bearer token is the whole session of such a request: never fall back to a cookie.
    if (bearer !== undefined && (bearer === '' || !(await learners.bySession(bearer)))) {
      throw new Unauthenticated('this session has ended: open the activity again from your course');
    }
    const token = sessionTokenOf(req);
    if (!token) return;
    const learner = await learners.bySession(token);
    if (!learner) return;
    (res.locals as { learner?: Learner }).learner = learner;
    // Activity for the instructor's grid: at most one write a minute per learner.
    const now = Date.now();
    if (req.method !== 'GET' && now - (touched.get(learner.id) ?? 0) > 60_000) {
      touched.set(learner.id, now);
      await learners.touch(learner.id);
    }
  };
  const read: RequestHandler = (req, res, next) => {
    resolve(req, res).then(() => {
      next();
    }, next);
  };
  const requireLearner: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (learnerOf(res)) {
      next();
      return;
    }
    beforeGuest(req)
      .then(() => learners.createGuest())
      .then(({ learner, token }) => {
        setSession(req, res, learner, token);
        next();
      }, next);
  };
  const requireRole =
    (role: Role): RequestHandler =>
    (_req, res, next) => {
      const learner = learnerOf(res);
      if (!learner || learner.kind !== 'account') {
        next(new Unauthenticated('sign in first'));
        return;
      }
      if (RANK[learner.role] < RANK[role]) {
        next(new Forbidden(`this needs the ${role} role`));
        return;
      }
      next();
    };
  return { read, requireLearner, requireRole };
}

/**
 * Cross-site request forgery guards for state-changing requests, two of them: the request must
 * come from this site (Origin, or Sec-Fetch-Site, which browsers always send on such requests)
 * and carry the CSRF token of the double-submit cookie in a header, which no other site can read
 * or set. Bodies must be JSON, which a plain cross-site form cannot send.
 */
export const sameOrigin: RequestHandler = (req, _res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
    next();
    return;
  }
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  const host = req.headers.host;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost !== host) {
      next(new Forbidden('cross-site requests are not allowed'));
      return;
    }
  } else if (site === 'cross-site') {
    next(new Forbidden('cross-site requests are not allowed'));
    return;
  }
  if (req.headers['content-length'] !== '0' && req.headers['content-length'] !== undefined && !req.is('application/json')) {
    next(new Forbidden('state-changing requests must send JSON (Content-Type: application/json)'));
    return;
  }
  next();
};

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Issues the CSRF cookie to every visitor that lacks one, and checks it on state-changing requests. */
export const csrf: RequestHandler = (req, res, next) => {
  const cookie = parseCookie(req.headers.cookie ?? '')[CSRF_COOKIE];
  // A request that carries its session in the Authorization header is no forgery: another site
  // can neither read that token nor make a browser send the header (no CORS is offered), and
  // such a request is never authenticated by a cookie (see `read`).
  if (bearerOf(req) !== undefined) {
    next();
    return;
  }
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
    if (!cookie) res.cookie(CSRF_COOKIE, randomBytes(24).toString('base64url'), { httpOnly: false, sameSite: 'strict', secure: secureCookies(req), path: '/', maxAge: ONE_YEAR_MS });
    next();
    return;
  }
  const header = req.headers[CSRF_HEADER];
  if (!cookie || typeof header !== 'string' || !sameToken(cookie, header)) {
    next(new Forbidden(`missing or wrong CSRF token: send the ${CSRF_COOKIE} cookie's value in the ${CSRF_HEADER} header (load a page of this site first)`));
    return;
  }
  next();
};

