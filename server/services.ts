import { AuthService } from './auth/auth-service.ts';
import type { ClusterConnection } from './cluster/connection.ts';
import type { Config } from './config.ts';
import { CheckRepository } from './db/checks.ts';
import type { Db } from './db/database.ts';
import { LearnerRepository } from './db/learners.ts';
import { ProgressRepository } from './db/progress.ts';
import { WorkshopRepository } from './db/workshops.ts';
import { graderFromConfig } from './grading/from-config.ts';
import { GradingService } from './grading/service.ts';
import { usageSimulatorFor } from './grading/usage.ts';
import { LessonService } from './lessons/lesson-service.ts';
import type { Library } from './lessons/types.ts';
import type { Logger } from './logger.ts';
import type { SandboxService } from './sandboxes/service.ts';
import type { TerminalManager } from './terminal/manager.ts';
import { WorkshopService } from './workshops/service.ts';

/** The services behind the routes, made from the platform's parts. Construction only: no I/O, no timers. */
export interface Services {
  learners: LearnerRepository;
  auth: AuthService;
  lessons: LessonService;
  grading: GradingService;
  workshops: WorkshopService;
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
}): Services {
  const learners = new LearnerRepository(deps.db);
  const checks = new CheckRepository(deps.db);
  const lessons = new LessonService(deps.library, new ProgressRepository(deps.db));
  const grading = new GradingService({ grader: graderFromConfig(deps.cluster, deps.library, deps.logger, usageSimulatorFor(deps.cluster)), sandboxes: deps.sandboxes, checks, library: deps.library, logger: deps.logger });
  const workshops = new WorkshopService({
    workshops: new WorkshopRepository(deps.db),
    learners,
    sandboxes: deps.sandboxes,
    checks,
    lessons,
    grading,
    library: deps.library,
    logger: deps.logger,
    terminalOpen: (namespace) => deps.terminals.get(namespace) !== undefined,
    baseUrl: () => deps.config.publicUrl ?? deps.baseUrl(),
  });
  return { learners, auth: new AuthService({ learners, logger: deps.logger }), lessons, grading, workshops };
}
