import path from 'node:path';
import { ensureControlPlane } from '../cluster/build.ts';
import type { ClusterConnection } from '../cluster/connection.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { silentProgress } from '../progress.ts';
import { labsFromLibrary } from '../sandboxes/labs.ts';
import type { SandboxService } from '../sandboxes/service.ts';
import type { Library } from '../lessons/types.ts';
import { OFFLINE_IMAGE_REPOSITORIES } from '../cluster/images/recipes.ts';
import { appVersion } from '../cluster/images/toolbox.ts';
import { RealNodeCache } from '../sandboxes/nodes.ts';
import { JailBackend, type ShellBackend } from './backends.ts';
import { PodBackend } from './pod-backend.ts';
import { TerminalManager } from './manager.ts';
import { RecordingStore } from './recorder.ts';

/**
 * Jailed local shells for the embedded cluster (a prompt in a fraction of a second, no Pod);
 * a toolbox Pod on any other cluster, or when asked for. On the embedded cluster the toolbox
 * runs on the real node, the only one where containers run.
 */
export function shellBackendFromConfig(config: Config, cluster: ClusterConnection, library: Library, logger: Logger): ShellBackend {
  const kind = config.terminals.backend === 'auto' ? (cluster.kind === 'embedded' ? 'jail' : 'pod') : config.terminals.backend;
  if (kind === 'pod') {
    const image = config.terminals.toolboxImage;
    const realNodes = new RealNodeCache();
    return new PodBackend({
      image: async () => image ?? `${OFFLINE_IMAGE_REPOSITORIES.toolbox}:${await appVersion()}`,
      labs: labsFromLibrary(library),
      realNode: () => realNodes.get(() => {
        const kc = cluster.kubeConfig();
        if (!kc.ok) throw new Unavailable(`the cluster is not reachable: ${kc.error.message}`);
        return kc.value;
      }),
      kubeConfig: () => {
        const kc = cluster.kubeConfig();
        if (!kc.ok) throw new Unavailable(`the cluster is not reachable: ${kc.error.message}`);
        return kc.value;
      },
    });
  }
  let kubectl: Promise<string> | undefined;
  return new JailBackend({
    jailDir: config.terminals.jailDir,
    labs: labsFromLibrary(library),
    // The kubectl built with the control plane (found in the cache; built only if missing).
    kubectl: () =>
      (kubectl ??= ensureControlPlane({ cacheDir: config.cacheDir, go: config.go, env: config.env, progress: silentProgress, logger }).then((cp) => cp.binaries.kubectl)),
  });
}

export function recordingStoreFromConfig(config: Config, db: Db): RecordingStore {
  return new RecordingStore(db, path.join(config.dataDir, 'recordings'));
}

export function terminalManagerFromConfig(config: Config, deps: { sandboxes: SandboxService; backend: ShellBackend; recordings: RecordingStore; logger: Logger }): TerminalManager {
  return new TerminalManager({
    ...deps,
    settings: { idleMs: config.terminals.idleMinutes * 60_000, graceMs: config.terminals.graceSeconds * 1000, inputBytesPerSecond: 64 * 1024 },
  });
}
