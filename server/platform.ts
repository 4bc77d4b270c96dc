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
import type { LearnerRepository } from './db/learners.ts';
import { ReplicaRepository } from './db/replicas.ts';
import { OpenTerminalRepository } from './db/open-terminals.ts';
import { rateLimitStore } from './db/rate-limits.ts';
import { Conflict } from './errors.ts';
import { LeaderDuties, periodicDuty, SoleLeader, type Duty } from './leader-duties.ts';
import { loadLibrary } from './lessons/library.ts';
import type { Library } from './lessons/types.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { Clock } from './lti/clock.ts';
import { silentProgress, type Progress } from './progress.ts';
import { ReplicaPresence } from './replica.ts';
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
  /** How often this replica's heartbeat is written (server/replica.ts; tests shorten it). */
  heartbeatMs?: number;
  /**
   * While there is no admin, the leader logs a one-time link that creates the first one (on unless
   * false: tests that make their own setup tokens turn it off, since a new token revokes the last).
   */
  setupLink?: boolean;
}

export interface Platform {
  config: Config;
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
  /** This server among the replicas on the database: its id and heartbeat. */
  replica: ReplicaPresence;
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

/**
 * The first admin's setup link, once per cluster: the leader issues and logs it when it begins to
 * lead and there is no admin yet (a new link revokes the one before: a restart prints a new one).
 */
function setupLinkDuty(learners: LearnerRepository, url: () => string, log: Logger): Duty {
  return {
    name: 'first admin setup link',
    async start() {
      try {
        if (await learners.hasAdmin()) return;
        const setupUrl = `${url()}/setup?token=${await learners.issueSetupToken()}`;
        log.warn({ setupUrl }, `there is no admin yet: open ${setupUrl} to create one (the link works once), or run "kubedojo admin create"`);
      } catch (error) {
        log.warn({ err: error }, 'could not issue the first admin\'s setup link; make the admin with "kubedojo admin create"');
      }
    },
    stop() {},
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
  // This server among the replicas: one id for its Lease, its heartbeat, the checks it grades,
  // the terminals it holds and the recordings it writes.
  const replicaId = leaseIdentity();
  const replicas = new ReplicaRepository(db);
  const replica = new ReplicaPresence({ id: replicaId, replicas, logger, ...(options.heartbeatMs ? { periodMs: options.heartbeatMs } : {}) });
  const openTerminals = new OpenTerminalRepository(db, replicaId, replica.staleAfterMs);
  const recordings = recordingStoreFromConfig(config, db, replicaId);
  const backend = shellBackendFromConfig(config, cluster, library, logger);
  const terminals = terminalManagerFromConfig(config, { sandboxes, backend, recordings, logger, openTerminals });
  // Counted in the database every replica shares (PostgreSQL), so N replicas are not N times the limit.
  const rateLimits = rateLimitStore(db, logger);
  let url = `http://${config.host}:${config.port}`;
  const services = createServices({ config, db, cluster, library, sandboxes, terminals, logger, rateLimits, baseUrl: () => url, ...(options.ltiClock ? { ltiClock: options.ltiClock } : {}) });
  // Replicas share socket.io rooms through the database they share (nothing to share with SQLite: one process).
  const socketAdapter = config.database.dialect === 'postgres' ? postgresSocketAdapter(config.database.url, logger) : undefined;

  const background: { close(): Promise<void> }[] = [];
  let closing: Promise<void> | undefined;

  /** Deletes recordings past their retention. */
  const prune = async () => {
    const count = await recordings.prune(config.terminals.recordingRetentionDays);
    if (count > 0) log.info({ count, days: config.terminals.recordingRetentionDays }, 'deleted old terminal recordings');
  };
  /** Ends the checks of replicas that stopped beating (crashed, killed) and forgets those replicas and their terminals. */
  const sweep = async () => {
    const abandoned = await services.grading.abandon({ aliveWithinMs: replica.staleAfterMs });
    if (abandoned > 0) log.warn({ abandoned }, 'ended the checks of a server that stopped while grading them');
    await replicas.forget(replica.staleAfterMs);
    await openTerminals.forgetGone();
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
          identity: replicaId,
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
      periodicDuty('recording retention', 86_400_000, prune, logger),
      periodicDuty('checks of stopped replicas', replica.periodMs, sweep, logger),
      ...(options.setupLink ?? true ? [setupLinkDuty(services.learners, () => config.publicUrl ?? url, log)] : []),
      // Counters that expired over an hour ago: the shared table would otherwise keep every visitor.
      periodicDuty('rate-limit counter expiry', 300_000, () => rateLimits.prune().then(() => undefined), logger),
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
      // Cancelled checks are stored as errors before the replica leaves (a write that fails
      // leaves a run with no live owner, which the next sweep ends).
      await services.grading.stop();
      await replica.close();
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
    replica,
    async start() {
      await ensureInstance(db);
      await replica.start();
      // One server per SQLite file: every run not its own is a leftover. Replicas on PostgreSQL
      // end only the runs of replicas that stopped beating; the leader sweeps the rest later.
      await services.grading.recover(replicaId, config.database.dialect === 'sqlite' ? { replica: replicaId } : { aliveWithinMs: replica.staleAfterMs });
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
      log.info({ url }, `kubedojo is serving on ${url}`);
      leader.start();
      // A sole leader's duties begin now; a Lease's wait for the election.
      await leader.settled();
      return url;
    },
    close,
  };
}
