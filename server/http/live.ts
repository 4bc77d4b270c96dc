import type { DefaultEventsMap, Namespace, Server } from 'socket.io';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import type { GradingEvent, GradingService } from '../grading/service.ts';
import type { Logger } from '../logger.ts';
import type { WorkshopEvents, WorkshopService } from '../workshops/service.ts';
import { socketSession } from '../auth/socket-session.ts';
import { replyTo, type Untrusted } from '../protocol.ts';
import { gridWatchSchema, type LiveClientEvents, type LiveServerEvents } from '../protocol-checks.ts';

/** /live as the server sees it: what browsers send is `unknown` until parsed, what it emits is typed. */
type LiveNamespace = Namespace<Untrusted<LiveClientEvents>, LiveServerEvents, DefaultEventsMap, { learner: Learner }>;

/**
 * The /live socket.io namespace. Every socket joins its own learner's room (their checks as they
 * run) and, for a participant, their workshop's room (broadcasts, the end). An instructor asks
 * to watch a workshop's grid and joins its room only if the workshop is theirs, so nobody hears
 * another learner's progress or another instructor's room.
 */
export function liveNamespace(io: Server, deps: { learners: LearnerRepository; grading: GradingService; workshops: WorkshopService; logger: Logger }): { close(): void } {
  const log = deps.logger.child({ component: 'live' });
  const nsp = io.of('/live') as LiveNamespace;
  nsp.use(socketSession(deps.learners, 'no session: open a lesson first'));
  nsp.on('connection', (socket) => {
    const learner = socket.data.learner;
    void socket.join(`learner:${learner.id}`);
    if (learner.workshopId) void socket.join(`participants:${learner.workshopId}`);
    socket.on('grid:watch', (request, reply) => {
      const respond = replyTo<LiveClientEvents, 'grid:watch'>(reply);
      const parsed = gridWatchSchema.safeParse(request);
      if (!parsed.success) {
        respond({ ok: false, error: parsed.error.issues.map((i) => i.message).join('; ') });
        return;
      }
      const { workshopId } = parsed.data;
      const allowed = learner.kind !== 'account' || learner.role === 'learner' ? Promise.reject(new Error('only instructors watch a workshop')) : deps.workshops.owned(workshopId, learner);
      allowed.then(
        () => {
          void socket.join(`grid:${workshopId}`);
          respond({ ok: true });
        },
        () => {
          respond({ ok: false, error: `there is no workshop ${workshopId} you run` });
        },
      );
    });
  });
  const onGrading = (event: GradingEvent) => {
    const room = nsp.to(`learner:${event.learnerId}`);
    if (event.type === 'progress') room.emit('check:progress', event.event);
    else room.emit('check:finished', event.run);
  };
  const onRow = ({ workshopId, row }: WorkshopEvents['row'][0]) => nsp.to(`grid:${workshopId}`).emit('grid:row', { workshopId, row });
  const onBroadcast = ({ workshopId, message }: WorkshopEvents['broadcast'][0]) => nsp.to(`participants:${workshopId}`).emit('workshop:broadcast', message);
  const onEnded = (event: WorkshopEvents['ended'][0]) => {
    nsp.to(`participants:${event.workshopId}`).to(`grid:${event.workshopId}`).emit('workshop:ended', event);
  };
  deps.grading.on('event', onGrading);
  deps.workshops.on('row', onRow);
  deps.workshops.on('broadcast', onBroadcast);
  deps.workshops.on('ended', onEnded);
  log.debug('live events ready');
  return {
    close() {
      deps.grading.off('event', onGrading);
      deps.workshops.off('row', onRow);
      deps.workshops.off('broadcast', onBroadcast);
      deps.workshops.off('ended', onEnded);
    },
  };
}
