import type { ClusterConnection } from '../cluster/connection.ts';
import type { Config } from '../config.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import { labsFromLibrary } from './labs.ts';
import { ObjectLimitWebhook } from './object-limits.ts';
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

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Starts counting learners' CRDs and PriorityClasses (object-limits.ts) once the cluster answers.
 * The API server must be able to call this server back, which holds when it runs on this machine
 * (the embedded cluster); otherwise the server says once, at start, that the count is not enforced.
 */
export function startObjectLimits(config: Config, cluster: ClusterConnection, logger: Logger): { close(): Promise<void> } {
  const log = logger.child({ component: 'object-limits' });
  const server = cluster.describe().server;
  const host = server ? new URL(server).hostname : '';
  if (!LOOPBACK.has(host)) {
    log.warn({ server }, `not enforced: the count of CRDs (${config.sandboxes.maxCrds}) and PriorityClasses (${config.sandboxes.maxPriorityClasses}) per sandbox, because the API server ${server ?? ''} is not on this machine and cannot call this server's admission webhook`);
    return { close: () => Promise.resolve() };
  }
  let handle: { close(): Promise<void> } | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let attempting: Promise<void> = Promise.resolve();
  const attempt = (): void => {
    const kc = cluster.kubeConfig();
    const started = kc.ok ? new ObjectLimitWebhook({ kubeConfig: kc.value, limits: { crds: config.sandboxes.maxCrds, priorityClasses: config.sandboxes.maxPriorityClasses }, logger }).start() : Promise.reject(new Error(kc.error.message));
    attempting = started.then(
      async (h) => {
        if (stopped) await h.close().catch(() => undefined);
        else handle = h;
      },
      (error: unknown) => {
        if (stopped) return;
        log.warn({ err: error }, 'could not start counting learner CRDs and PriorityClasses yet; retrying in 30 s');
        retry = setTimeout(attempt, 30_000);
        retry.unref();
      },
    );
  };
  attempt();
  return {
    close: async () => {
      stopped = true;
      clearTimeout(retry);
      // A start under way finishes first: what it registers is then removed, not left behind.
      await attempting;
      await handle?.close();
    },
  };
}
