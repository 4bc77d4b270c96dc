import { AuthService } from './auth/auth-service.ts';
import type { ClusterConnection } from './cluster/connection.ts';
import type { Config } from './config.ts';
import { CheckRepository } from './db/checks.ts';
import type { Db } from './db/database.ts';
import type { RateLimitStore } from './db/rate-limits.ts';
import { LearnerRepository } from './db/learners.ts';
import { ProgressRepository } from './db/progress.ts';
import { WorkshopRepository } from './db/workshops.ts';
import { graderFromConfig } from './grading/from-config.ts';
import { GradingService } from './grading/service.ts';
import type { GradeReport } from './grading/types.ts';
import { usageSimulatorFor } from './grading/usage.ts';
import { LessonService } from './lessons/lesson-service.ts';
import type { Clock } from './lti/clock.ts';
import { LtiService } from './lti/service.ts';
import type { Library } from './lessons/types.ts';
import type { Logger } from './logger.ts';
import { LessonBlockService } from './sandboxes/lesson-blocks.ts';
import type { SandboxService } from './sandboxes/service.ts';
import type { TerminalManager } from './terminal/manager.ts';
import { WorkshopService } from './workshops/service.ts';

/** The services behind the routes, made from the platform's parts. Construction only: no I/O, no timers (`lti.start()` begins its queue). */
export interface Services {
  learners: LearnerRepository;
  auth: AuthService;
  lessons: LessonService;
  grading: GradingService;
  workshops: WorkshopService;
  lti: LtiService;
  blocks: LessonBlockService;
}

export function createServices(deps: {
  config: Config;
  db: Db;
  cluster: ClusterConnection;
  library: Library;
  sandboxes: SandboxService;
  terminals: TerminalManager;
  logger: Logger;
  /** Where people reach this server, for join links (known once it listens). */
  baseUrl: () => string;
  /** The time of the LTI score queue's backoff (tests move it by hand). */
  ltiClock?: Clock;
  /** Where rate-limit counters live (shared by the replicas on PostgreSQL); in memory when absent. */
  rateLimits?: RateLimitStore;
}): Services {
  const learners = new LearnerRepository(deps.db);
  const checks = new CheckRepository<GradeReport>(deps.db);
  const lessons = new LessonService(deps.library, new ProgressRepository(deps.db));
  const grading = new GradingService({ grader: graderFromConfig(deps.cluster, deps.library, deps.logger, usageSimulatorFor(deps.cluster)), sandboxes: deps.sandboxes, checks, library: deps.library, logger: deps.logger });
  const workshopRepository = new WorkshopRepository(deps.db);
  const baseUrl = () => deps.config.publicUrl ?? deps.baseUrl();
  const lti = new LtiService({ db: deps.db, library: deps.library, learners, workshops: workshopRepository, grading, lessons, logger: deps.logger, baseUrl, keyRotationDays: deps.config.lti.keyRotationDays, allowHttp: deps.config.lti.allowHttp, pollMs: 5000, ...(deps.ltiClock ? { clock: deps.ltiClock } : {}) });
  const workshops = new WorkshopService({
    workshops: workshopRepository,
    learners,
    sandboxes: deps.sandboxes,
    checks,
    lessons,
    grading,
    library: deps.library,
    logger: deps.logger,
    terminalsOpen: (namespaces) => deps.terminals.openAmong(namespaces),
    followTerminals: (listener) => {
      const onChange = ({ namespace }: { namespace: string }) => {
        listener(namespace);
      };
      deps.terminals.on('change', onChange);
      return () => deps.terminals.off('change', onChange);
    },
    baseUrl,
    // An LMS course's room: its instructors run it, its learners fill the grid.
    coInstructs: (workshopId, learnerId) => lti.teaches(workshopId, learnerId),
    members: (workshopId) => lti.courseLearners(workshopId),
  });
  const blocks = new LessonBlockService({ library: deps.library, sandboxes: deps.sandboxes, writeHome: (sandbox, file, content, overwrite) => deps.terminals.writeFile(sandbox, file, content, overwrite), logger: deps.logger });
  return { learners, auth: new AuthService({ learners, logger: deps.logger, ...(deps.rateLimits ? { limits: deps.rateLimits } : {}) }), lessons, grading, workshops, lti, blocks };
}
