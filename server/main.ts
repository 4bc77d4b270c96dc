import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { connectionFromConfig } from './cluster/connection.ts';
import { localClusterFromConfig } from './cluster/local.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/database.ts';
import { Conflict } from './errors.ts';
import { loadLibrary } from './lessons/library.ts';
import { sandboxServiceFromConfig, startObjectLimits } from './sandboxes/from-config.ts';
import type { SandboxService } from './sandboxes/service.ts';
import { recordingStoreFromConfig, reportJailLimits, shellBackendFromConfig, terminalManagerFromConfig } from './terminal/from-config.ts';
import type { RecordingStore } from './terminal/recorder.ts';
import type { Logger } from './logger.ts';
import type { Progress } from './progress.ts';
import { createServices } from './services.ts';

/**
 * The composition root of `kubedojo serve`: config → database → cluster → app → listen.
 * Nothing else in the server creates these; everything else receives them.
 */
export async function runServer(config: Config, logger: Logger, progress: Progress): Promise<{ url: string; close(): Promise<void> }> {
  const log = logger.child({ component: 'main' });
  const db = openDatabase(path.join(config.dataDir, 'kubedojo.db'), logger);

  if (config.cluster.mode === 'embedded' && config.cluster.autoStart) {
    const local = localClusterFromConfig(config, logger, progress);
    const report = await local.up();
    log.info({ server: report.server, alreadyRunning: report.alreadyRunning, ms: report.durationMs }, 'local cluster ready');
  }
  const library = await loadLibrary(config.lessonsDir);
  const lessonsLog = logger.child({ component: 'lessons' });
  for (const problem of library.errors) lessonsLog.warn(problem, `${problem.file}:${problem.line}: ${problem.message}`);
  lessonsLog.info({ dir: config.lessonsDir, lessons: library.lessons.length, errors: library.errors.length }, `loaded ${library.lessons.length} lessons`);

  const cluster = connectionFromConfig(config);
  log.info({ ...cluster.describe() }, 'using cluster');

  const sandboxes = sandboxServiceFromConfig(config, cluster, library, logger);
  startSandboxes(sandboxes, log);
  const objectLimits = startObjectLimits(config, cluster, logger);

  const recordings = recordingStoreFromConfig(config, db);
  const backend = shellBackendFromConfig(config, cluster, library, logger);
  await reportJailLimits(config, backend, logger);
  const terminals = terminalManagerFromConfig(config, { sandboxes, backend, recordings, logger });
  pruneRecordings(recordings, config.terminals.recordingRetentionDays, log);

  let listening = `http://${config.host}:${config.port}`;
  const services = createServices({ config, db, cluster, library, sandboxes, terminals, logger, baseUrl: () => listening });

  const app = createApp({ config, db, cluster, logger, library, sandboxes, terminals, recordings, services });
  try {
    await new Promise<void>((resolve, reject) => {
      app.http.once('error', reject);
      app.http.listen(config.port, config.host, () => {
        app.http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await objectLimits.close();
    await app.close();
    db.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Conflict(`Port ${config.port} on ${config.host} is already in use by another program. Choose another with --port (or KUBEDOJO_PORT), or 0 for any free port.`);
    }
    if (code === 'EACCES') throw new Conflict(`Not allowed to listen on ${config.host}:${config.port}; ports below 1024 need privileges. Choose another with --port.`);
    throw error;
  }
  const address = app.http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  listening = url;
  log.info({ url }, `kubedojo is serving on ${url}`);
  services.workshops.start();
  services.lti.start();
  if (!services.learners.hasAdmin()) {
    const token = services.learners.issueSetupToken();
    const setupUrl = `${config.publicUrl ?? url}/setup?token=${token}`;
    log.warn({ setupUrl }, `there is no admin yet: open ${setupUrl} to create one (the link works once), or run "kubedojo admin create"`);
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      log.info('shutting down');
      sandboxes.stop();
      await objectLimits.close();
      services.workshops.stop();
      await services.grading.stop();
      await app.close();
      db.close();
      if (config.cluster.mode === 'embedded') log.info('the local cluster keeps running; stop it with "kubedojo cluster down"');
    })());
  const onSignal = () => {
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { url, close };
}

/** Adopts, reaps and pools sandboxes once the cluster answers; retries until it does. */
function startSandboxes(sandboxes: SandboxService, log: Logger): void {
  const attempt = (): void => {
    sandboxes.start().then(
      () => {
        log.info('sandboxes adopted and reaped; reaper running');
      },
      (error: unknown) => {
        log.warn({ err: error }, 'could not start sandbox housekeeping yet; retrying in 30 s');
        setTimeout(attempt, 30_000).unref();
      },
    );
  };
  attempt();
}

/** Deletes recordings past their retention now and daily. */
function pruneRecordings(recordings: RecordingStore, days: number, log: Logger): void {
  const prune = () => {
    recordings.prune(days).then(
      (count) => {
        if (count > 0) log.info({ count, days }, 'deleted old terminal recordings');
      },
      (error: unknown) => {
        log.warn({ err: error }, 'could not prune recordings');
      },
    );
  };
  prune();
  setInterval(prune, 86_400_000).unref();
}
