import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { parseCookie } from 'cookie';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import { Forbidden } from '../errors.ts';

export const SESSION_COOKIE = 'kd_session';
const ONE_YEAR_MS = 365 * 86_400_000;

/** The learner of this request, if it carries a valid session. */
export function learnerOf(res: Response): Learner | undefined {
  return (res.locals as { learner?: Learner }).learner;
}

/** The learner of this request; for handlers behind `requireLearner`. */
export function currentLearner(res: Response): Learner {
  const learner = learnerOf(res);
  if (!learner) throw new Error('requireLearner did not run before this handler');
  return learner;
}

/**
 * Reads the session cookie on every request. `requireLearner` creates a guest learner on the
 * first state-changing request, so reading never creates rows and progress is kept from the
 * first answer on.
 */
export function sessionMiddleware(learners: LearnerRepository): { read: RequestHandler; requireLearner: RequestHandler } {
  const read: RequestHandler = (req, res, next) => {
    const token = parseCookie(req.headers.cookie ?? '')[SESSION_COOKIE];
    if (token) {
      const learner = learners.bySession(token);
      if (learner) (res.locals as { learner?: Learner }).learner = learner;
    }
    next();
  };
  const requireLearner: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (!learnerOf(res)) {
      const { learner, token } = learners.createGuest();
      res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: ONE_YEAR_MS });
      (res.locals as { learner?: Learner }).learner = learner;
    }
    next();
  };
  return { read, requireLearner };
}

/**
 * Cross-site request forgery guard for state-changing requests: a browser always sends Origin
 * (or Sec-Fetch-Site) on them, and it must be this site. Bodies must be JSON, which a plain
 * cross-site form cannot send.
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
