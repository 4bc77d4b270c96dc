import path from 'node:path';
import { ensureControlPlane } from '../cluster/build.ts';
import type { ClusterConnection } from '../cluster/connection.ts';
import type { OpenTerminalRepository } from '../db/open-terminals.ts';
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
import { cgroupsWritable } from './cgroup.ts';
import type { JailLimits } from './jail.ts';
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
    limits: jailLimits(config),
    labs: labsFromLibrary(library),
    // The kubectl built with the control plane (found in the cache; built only if missing).
    kubectl: () =>
      (kubectl ??= ensureControlPlane({ cacheDir: config.cacheDir, go: config.go, env: config.env, progress: silentProgress, logger }).then((cp) => cp.binaries.kubectl)),
  });
}

export function recordingStoreFromConfig(config: Config, db: Db, replica: string | null = null): RecordingStore {
  return new RecordingStore(db, path.join(config.dataDir, 'recordings'), config.terminals.recordingMaxBytes, replica);
}

function jailLimits(config: Config): JailLimits {
  return { ...config.terminals.jail, cpus: 1 };
}

/**
 * Says once, at start, how jailed shells are limited here, and plainly what is not enforced:
 * without writable cgroups (any non-root start) a jail still gets rlimits, but they bound each
 * process, not the jail as a whole.
 */
export async function reportJailLimits(config: Config, backend: ShellBackend, logger: Logger): Promise<void> {
  if (backend.kind !== 'jail') return;
  const log = logger.child({ component: 'jail' });
  const l = jailLimits(config);
  const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
  const rlimits = `at most ${l.pids} processes per jail, ${mib(l.memoryBytes)} of data per process, files up to ${mib(l.fileBytes)}, /tmp of 256 MiB`;
  const cgroups = await cgroupsWritable();
  if (cgroups.ok) {
    log.info({ limits: l }, `jailed shells are limited by cgroups (${l.pids} processes, ${mib(l.memoryBytes)} of memory, ${l.cpus} CPU per jail) and rlimits (${rlimits})`);
    return;
  }
  log.warn({ limits: l, reason: cgroups.reason }, `jailed shells run without cgroups (${cgroups.reason}): rlimits enforce ${rlimits}; not enforced: a jail's total memory and its CPU share (start as root on a machine with writable cgroups for those)`);
}

export function terminalManagerFromConfig(config: Config, deps: { sandboxes: SandboxService; backend: ShellBackend; recordings: RecordingStore; logger: Logger; openTerminals?: OpenTerminalRepository }): TerminalManager {
  return new TerminalManager({
    ...deps,
    settings: { idleMs: config.terminals.idleMinutes * 60_000, graceMs: config.terminals.graceSeconds * 1000, inputBytesPerSecond: 64 * 1024 },
  });
}
