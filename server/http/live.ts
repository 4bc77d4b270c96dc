import type { Server } from 'socket.io';
import { parseCookie } from 'cookie';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import type { GradingService } from '../grading/service.ts';
import type { Logger } from '../logger.ts';
import { SESSION_COOKIE } from './session.ts';

/**
 * The /live socket.io namespace: events for the signed-in learner (their checks as they run).
 * Each socket joins only its own learner's room, so nobody hears another learner's progress.
 */
export function liveNamespace(io: Server, deps: { learners: LearnerRepository; grading: GradingService; logger: Logger }): void {
  const log = deps.logger.child({ component: 'live' });
  const nsp = io.of('/live');
  nsp.use((socket, next) => {
    const token = parseCookie(socket.handshake.headers.cookie ?? '')[SESSION_COOKIE];
    const learner = token ? deps.learners.bySession(token) : undefined;
    if (!learner) {
      next(new Error('no session: open a lesson first'));
      return;
    }
    (socket.data as { learner: Learner }).learner = learner;
    next();
  });
  nsp.on('connection', (socket) => {
    void socket.join(`learner:${(socket.data as { learner: Learner }).learner.id}`);
  });
  deps.grading.on('event', (event) => {
    const room = nsp.to(`learner:${event.learnerId}`);
    if (event.type === 'progress') room.emit('check:progress', event.event);
    else room.emit('check:finished', event.run);
  });
  log.debug('live events ready');
}
