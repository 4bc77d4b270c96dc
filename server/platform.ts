import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app.ts';
import { connectionFromConfig, type ClusterConnection } from './cluster/connection.ts';
import { LEASE_NAME, LeaderElector, leaseIdentity, leaseNamespace, type LeaseTimings } from './cluster/lease.ts';
import { localClusterFromConfig } from './cluster/local.ts';
import type { Config } from './config.ts';
import { openDatabase, type Db } from './db/database.ts';
import { postgresSocketAdapter } from './http/socket-adapter.ts';
import { describeDatabase } from './db/url.ts';
import { ensureInstance } from './db/instance.ts';
import { OpenTerminalRepository } from './db/open-terminals.ts';
import { rateLimitStore } from './db/rate-limits.ts';
import { Conflict } from './errors.ts';
import { LeaderDuties, SoleLeader } from './leader-duties.ts';
import { loadLibrary } from './lessons/library.ts';
import type { Library } from './lessons/types.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { Clock } from './lti/clock.ts';
import { silentProgress, type Progress } from './progress.ts';
import { sandboxServiceFromConfig, startObjectLimits } from './sandboxes/from-config.ts';
import type { SandboxService } from './sandboxes/service.ts';
import { createServices, type Services } from './services.ts';
import type { ShellBackend } from './terminal/backends.ts';
import { recordingStoreFromConfig, reportJailLimits, shellBackendFromConfig, terminalManagerFromConfig } from './terminal/from-config.ts';
import type { TerminalManager } from './terminal/manager.ts';
import type { RecordingStore } from './terminal/recorder.ts';

/**
 * The one composition root: `kubedojo serve` and the tests build the platform here, from the
 * config, and start and close it the same way. Building wires the parts (the database opened,
 * the library loaded, the embedded cluster up when asked); `start` does the I/O the parts need
 * once (database rows, background work) and listens; `close` undoes everything `start` began.
 */

export interface PlatformOptions {
  logger?: Logger;
  progress?: Progress;
  /** The built browser app; defaults to client/dist. */
  clientDir?: string;
  /** The time of the LTI score queue's backoff (tests move it by hand). */
  ltiClock?: Clock;
  /**
   * Count learners' CRDs and PriorityClasses with this server's admission webhook (on unless
   * false). There is one webhook per cluster, so servers that share a cluster with others for
   * a moment (the tests) leave it to the one suite that tests it.
   */
  objectLimits?: boolean;
  /**
   * The leader Lease (server/cluster/lease.ts): one per cluster, kubedojo-leader (the embedded
   * cluster needs none: its server leads alone). Tests that share one cluster give each
   * platform its own unless they test the election.
   */
  lease?: { name?: string; timings?: Partial<LeaseTimings> };
}

export interface Platform {
  config: Config;
  /** This server's identity among the replicas (its Lease holder name, its rows of open terminals). */
  replica: string;
  db: Db;
  cluster: ClusterConnection;
  library: Library;
  sandboxes: SandboxService;
  backend: ShellBackend;
  recordings: RecordingStore;
  terminals: TerminalManager;
  services: Services;
  app: App;
  /** The once-per-cluster work, run while this replica holds the leader Lease. */
  leader: LeaderDuties;
  /** Prepares the database, begins the background work and listens; resolves with the URL. */
  start(): Promise<string>;
  /** Stops every listener, timer and process the platform began; safe to call twice. */
  close(): Promise<void>;
}

/** Housekeeping that runs until it succeeds once, retrying every 30 s; `close` ends it. */
function keepTrying(task: () => Promise<void>, log: Logger, what: string): { close(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const attempt = (): void => {
    running = task().catch((error: unknown) => {
      if (closed) return;
      log.warn({ err: error }, `could not ${what} yet; retrying in 30 s`);
      timer = setTimeout(attempt, 30_000);
      timer.unref();
    });
  };
  attempt();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export async function buildPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? silentLogger();
  // The component name serve's log lines have always carried.
  const log = logger.child({ component: 'main' });
  log.info({ database: describeDatabase(config.database) }, 'opening the database');
  const db = await openDatabase(config.database, logger);
  let library: Library;
  try {
    if (config.cluster.mode === 'embedded' && config.cluster.autoStart) {
      const report = await localClusterFromConfig(config, logger, options.progress ?? silentProgress).up();
      log.info({ server: report.server, alreadyRunning: report.alreadyRunning, ms: report.durationMs }, 'local cluster ready');
    }
    library = await loadLibrary(config.lessonsDir);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const lessonsLog = logger.child({ component: 'lessons' });
  for (const problem of library.errors) lessonsLog.warn(problem, `${problem.file}:${problem.line}: ${problem.message}`);
  lessonsLog.info({ dir: config.lessonsDir, lessons: library.lessons.length, errors: library.errors.length }, `loaded ${library.lessons.length} lessons`);

  const cluster = connectionFromConfig(config);
  log.info({ ...cluster.describe() }, 'using cluster');
  const sandboxes = sandboxServiceFromConfig(config, cluster, library, logger);
  // This server among the replicas: its Lease identity, and its name on the terminals it holds
  // and the recordings it writes.
  const replica = leaseIdentity();
  const recordings = recordingStoreFromConfig(config, db, replica);
  const backend = shellBackendFromConfig(config, cluster, library, logger);
  const terminals = terminalManagerFromConfig(config, { sandboxes, backend, recordings, logger, openTerminals: new OpenTerminalRepository(db, replica) });
  // Counted in the database every replica shares (PostgreSQL), so N replicas are not N times the limit.
  const rateLimits = rateLimitStore(db, logger);
  let url = `http://${config.host}:${config.port}`;
  const services = createServices({ config, db, cluster, library, sandboxes, terminals, logger, rateLimits, baseUrl: () => url, ...(options.ltiClock ? { ltiClock: options.ltiClock } : {}) });
  // Replicas share socket.io rooms through the database they share (nothing to share with SQLite: one process).
  const socketAdapter = config.database.dialect === 'postgres' ? postgresSocketAdapter(config.database.url, logger) : undefined;

  const background: { close(): Promise<void> }[] = [];
  let pruneTimer: NodeJS.Timeout | undefined;
  let pruning: Promise<void> = Promise.resolve();
  let limitsTimer: NodeJS.Timeout | undefined;
  let limitsPruning: Promise<unknown> = Promise.resolve();
  /** Deletes rate-limit counters that expired over an hour ago (the shared table would otherwise keep every visitor). */
  const pruneLimits = () => {
    limitsPruning = rateLimits.prune().catch((error: unknown) => {
      log.warn({ err: error }, 'could not delete expired rate-limit counters');
    });
  };
  let closing: Promise<void> | undefined;

  /** Deletes recordings past their retention now and daily. */
  const prune = () => {
    pruning = recordings.prune(config.terminals.recordingRetentionDays).then(
      (count) => {
        if (count > 0) log.info({ count, days: config.terminals.recordingRetentionDays }, 'deleted old terminal recordings');
      },
      (error: unknown) => {
        log.warn({ err: error }, 'could not prune recordings');
      },
    );
  };

  // Work that must not run twice in a cluster runs on the replica holding the Lease; the
  // embedded cluster is this server's own, so it leads alone.
  const platformKc = cluster.kubeConfig();
  const elector =
    config.cluster.mode === 'embedded'
      ? new SoleLeader()
      : new LeaderElector({
          kubeConfig: () => cluster.kubeConfig(),
          namespace: platformKc.ok ? leaseNamespace(platformKc.value) : 'kube-system',
          name: options.lease?.name ?? LEASE_NAME,
          identity: replica,
          ...(options.lease?.timings ? { timings: options.lease.timings } : {}),
          logger,
        });
  const leader = new LeaderDuties({
    elector,
    logger,
    duties: [
      { name: 'sandbox reaper and warm pool', start: () => { sandboxes.lead(); }, stop: () => { sandboxes.follow(); } },
      { name: 'workshop pool planner', start: () => { services.workshops.startPlanner(); }, stop: () => { services.workshops.stopPlanner(); } },
      { name: 'LTI score delivery', start: () => { services.lti.queue.start(); }, stop: () => services.lti.queue.stop() },
      {
        name: 'recording retention',
        start: () => {
          prune();
          pruneTimer = setInterval(prune, 86_400_000);
          pruneTimer.unref();
        },
        stop: async () => {
          clearInterval(pruneTimer);
          await pruning;
        },
      },
      {
        name: 'rate-limit counter expiry',
        start: () => {
          limitsTimer = setInterval(pruneLimits, 300_000);
          limitsTimer.unref();
        },
        stop: async () => {
          clearInterval(limitsTimer);
          await limitsPruning;
        },
      },
    ],
  });
  const app = createApp({ config, db, cluster, logger, library, sandboxes, terminals, recordings, services, socketAdapter, rateLimits, leading: () => leader.leading, ...(options.clientDir ? { clientDir: options.clientDir } : {}) });

  const close = () =>
    (closing ??= (async () => {
      await leader.close();
      sandboxes.stop();
      await Promise.all(background.map((b) => b.close()));
      services.workshops.stop();
      await services.lti.stop();
      await services.grading.stop();
      await terminals.close();
      await app.close();
      await socketAdapter?.close();
      await db.destroy();
    })());

  const listen = async (): Promise<string> => {
    try {
      await new Promise<void>((resolve, reject) => {
        app.http.once('error', reject);
        app.http.listen(config.port, config.host, () => {
          app.http.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new Conflict(`Port ${config.port} on ${config.host} is already in use by another program. Choose another with --port (or KUBEDOJO_PORT), or 0 for any free port.`);
      }
      if (code === 'EACCES') throw new Conflict(`Not allowed to listen on ${config.host}:${config.port}; ports below 1024 need privileges. Choose another with --port.`);
      throw error;
    }
    const address = app.http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  };

  return {
    config,
    replica,
    db,
    cluster,
    library,
    sandboxes,
    backend,
    recordings,
    terminals,
    services,
    app,
    leader,
    async start() {
      await ensureInstance(db);
      await services.grading.recover();
      await reportJailLimits(config, backend, logger);
      // Reaping and filling the pool wait for the Lease (leader.start below).
      sandboxes.follow();
      // Watching and adopting sandboxes waits for the cluster to answer; serving does not.
      background.push(
        keepTrying(async () => {
          await sandboxes.open();
          log.info('sandboxes watched and the warm pool adopted');
        }, log, 'start watching sandboxes'),
      );
      if (options.objectLimits ?? true) background.push(startObjectLimits(config, cluster, logger));
      await app.prepare();
      url = await listen();
      services.workshops.start({ planPool: false });
      services.lti.start({ deliver: false });
      leader.start();
      return url;
    },
    close,
  };
}
