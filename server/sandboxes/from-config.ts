import type { ClusterConnection } from '../cluster/connection.ts';
import type { Config } from '../config.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import { labsFromLibrary } from './labs.ts';
import { SandboxService } from './service.ts';

/** The sandbox service as the settings describe it (used by serve and the CLI alike). */
export function sandboxServiceFromConfig(config: Config, cluster: ClusterConnection, library: Library, logger: Logger): SandboxService {
  return new SandboxService({
    cluster,
    logger,
    labs: labsFromLibrary(library),
    settings: { ...config.sandboxes, dataDir: config.dataDir },
  });
}
