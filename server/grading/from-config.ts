import { ensureControlPlane } from '../cluster/build.ts';
import type { ClusterConnection } from '../cluster/connection.ts';
import type { Config } from '../config.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import { silentProgress } from '../progress.ts';
import { Grader } from './grader.ts';
import { jailProgramRunner, type ProgramRunner } from './program.ts';
import type { UsageSimulator } from './usage.ts';

/** The grader as the settings describe it (serve and the CLI share it). */
export function graderFromConfig(cluster: ClusterConnection, library: Library, logger: Logger, usage?: UsageSimulator): Grader {
  return new Grader({ cluster, library, logger, usage });
}

/** Submitted programs run in the jailed shell, which reaches only an API server on this machine. */
export function programRunnerFromConfig(config: Config, cluster: ClusterConnection, logger: Logger): ProgramRunner | undefined {
  const server = cluster.describe().server;
  const local = server !== null && ['127.0.0.1', 'localhost'].includes(new URL(server).hostname);
  if (!local) return undefined;
  let kubectl: Promise<string> | undefined;
  return jailProgramRunner({
    jailDir: config.terminals.jailDir,
    kubectl: () =>
      (kubectl ??= ensureControlPlane({ cacheDir: config.cacheDir, go: config.go, env: config.env, progress: silentProgress, logger }).then((cp) => cp.binaries.kubectl)),
  });
}
