import type { ClusterConnection } from '../cluster/connection.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import { Grader } from './grader.ts';
import type { UsageSimulator } from './usage.ts';

/** The grader as the settings describe it (serve and the CLI share it). */
export function graderFromConfig(cluster: ClusterConnection, library: Library, logger: Logger, usage?: UsageSimulator): Grader {
  return new Grader({ cluster, library, logger, usage });
}
