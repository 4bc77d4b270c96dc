import { parseCookie } from 'cookie';
import type { Learner, LearnerRepository } from '../db/learners.ts';

/** The session cookie's name, shared by the HTTP middleware and socket.io handshakes. */
export const SESSION_COOKIE = 'kd_session';

/**
 * The socket.io counterpart of the HTTP session middleware: a connection is authenticated by the same session cookie
 * (or token), and refused without one (`refusal` says what to do instead).
 */
export function socketSession(learners: LearnerRepository, refusal: string): (socket: { handshake: { headers: { cookie?: string | undefined }; auth: unknown }; data: unknown }, next: (error?: Error) => void) => void {
  return (socket, next) => {
    // Pages inside an LMS frame send their session token in the handshake's auth (no cookies there).
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = typeof auth?.token === 'string' ? auth.token : parseCookie(socket.handshake.headers.cookie ?? '')[SESSION_COOKIE];
    (token ? learners.bySession(token) : Promise.resolve(undefined)).then(
      (learner) => {
        if (!learner) {
          next(new Error(refusal));
          return;
        }
        (socket.data as { learner?: Learner }).learner = learner;
        next();
      },
      (error: unknown) => {
        next(error instanceof Error ? error : new Error(String(error)));
      },
    );
  };
}
