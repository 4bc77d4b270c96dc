import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectionFromConfig } from '../../server/cluster/connection.ts';
import { loadConfig } from '../../server/config.ts';
import { graderFromConfig } from '../../server/grading/from-config.ts';
import { programRunnerFromConfig } from '../../server/terminal/program-runner.ts';
import type { Grader } from '../../server/grading/grader.ts';
import type { ProgramRunner } from '../../server/grading/program.ts';
import { usageSimulatorFor } from '../../server/grading/usage.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import type { Library } from '../../server/lessons/types.ts';
import { silentLogger } from '../../server/logger.ts';
import type { SandboxService } from '../../server/sandboxes/service.ts';
import { projectRoot } from './cli.ts';
import { sandboxService } from './sandboxes.ts';

export interface GradingKit {
  grader: Grader;
  sandboxes: SandboxService;
  programs: ProgramRunner | undefined;
  library: Library;
}

/** The grader, sandboxes and program runner of `kubedojo grade`, against the shared test cluster. */
export async function gradingKit(kubeconfig: string, lessonsDir = path.join(projectRoot, 'lessons')): Promise<GradingKit> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-grade-'));
  const result = loadConfig({ kubeconfig, dataDir, lessonsDir }, { HOME: os.homedir() });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const cluster = connectionFromConfig(result.config);
  const library = await loadLibrary(lessonsDir);
  const logger = silentLogger();
  return {
    grader: graderFromConfig(cluster, library, logger, usageSimulatorFor(cluster)),
    sandboxes: await sandboxService(kubeconfig, { capacity: 1000, maxPerLearner: 1000 }, { dataDir }),
    programs: programRunnerFromConfig(result.config, cluster, logger),
    library,
  };
}
