import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import proxyaddr from 'proxy-addr';
import { Server as SocketServer } from 'socket.io';
import type { ClusterConnection } from './cluster/connection.ts';
import { projectRoot } from './cluster/paths.ts';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { readInstance } from './db/instance.ts';
import { apiNotFound, errorHandler } from './http/error-handler.ts';
import { clusterRoutes } from './http/routes/cluster.ts';
import { healthRoutes } from './http/routes/health.ts';
import type { Logger } from './logger.ts';
import { csrf, sameOrigin, sessionMiddleware } from './http/session.ts';
import { authRoutes } from './http/routes/auth.ts';
import { workshopRoutes } from './http/routes/workshops.ts';
import type { Services } from './services.ts';
import { lessonRoutes } from './http/routes/lessons.ts';
import type { Library } from './lessons/types.ts';
import { sandboxRoutes } from './http/routes/sandboxes.ts';
import { blockRoutes } from './http/routes/blocks.ts';
import type { SandboxService } from './sandboxes/service.ts';
import type { SocketAdapter } from './http/socket-adapter.ts';
import type { RateLimitStore } from './db/rate-limits.ts';
import { recordingRoutes } from './http/routes/recordings.ts';
import type { TerminalManager } from './terminal/manager.ts';
import type { RecordingStore } from './terminal/recorder.ts';
import { terminalNamespace } from './terminal/socket.ts';
import { checkRoutes } from './http/routes/checks.ts';
import { liveNamespace } from './http/live.ts';
import { CapacityProbe } from './http/capacity.ts';
import { createMetrics } from './http/metrics.ts';
import { openapiRoute } from './http/openapi.ts';
import { routeLabeler } from './http/route-table.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { EdgeLimits, addressKey, clientAddress } from './http/rate-limits.ts';
import { trustFunction } from './limits.ts';
import { frameAncestors, frameGuard, frameOriginsOf, loadFrameOrigins, ltiProtocolRoutes } from './http/lti-protocol.ts';
import { ltiRoutes } from './http/routes/lti.ts';

export const VERSION = '0.1.0';

/**
 * What the browser app may load: its own scripts only (no inline script, no eval; WebAssembly may
 * be compiled, for asciinema-player's terminal emulator on the replay page), styles of its own
 * plus inline ones (xterm.js and mermaid's SVG write <style> elements), images and fonts of its
 * own or data: URLs, connections to this origin (REST and socket.io), no frames, no plugins.
 */
function contentSecurityPolicy(publicHttps: boolean): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", "'wasm-unsafe-eval'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'worker-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    ...(publicHttps ? { 'upgrade-insecure-requests': [] } : {}),
  };
}

export interface AppDeps {
  config: Config;
  db: Db;
  cluster: ClusterConnection;
  logger: Logger;
  library: Library;
  sandboxes: SandboxService;
  terminals: TerminalManager;
  recordings: RecordingStore;
  services: Services;
  /** Whether this replica holds the leader Lease (metrics); false when not told. */
  leading?: () => boolean;
  /** The built browser app; defaults to client/dist. */
  clientDir?: string;
  /** socket.io across replicas (PostgreSQL); one process on its own keeps socket.io's in-memory adapter. */
  socketAdapter?: SocketAdapter | undefined;
  /** Where rate-limit counters live (shared by the replicas on PostgreSQL); in memory when absent. */
  rateLimits?: RateLimitStore | undefined;
}

export interface App {
  http: http.Server;
  io: SocketServer;
  /** The I/O the app needs before it listens: the socket.io adapter's connection, if it has one. */
  prepare(): Promise<void>;
  close(): Promise<void>;
}

/** Wires routes and sockets around the dependencies it is given; performs no I/O of its own
 * beyond what those dependencies do, and listens only when the caller says so (the platform's
 * start, which also makes the database rows the routes read). */
export function createApp(deps: AppDeps): App {
  const logger = deps.logger.child({ component: 'http' });
  const app = express();
  app.disable('x-powered-by');
  // Which X-Forwarded-For hops name the client (--trust-proxy); the socket.io edge uses the same rule.
  const trust = trustFunction(deps.config.http.trustProxy);
  app.set('trust proxy', trust);
  const publicHttps = deps.config.publicUrl?.startsWith('https:') === true;
  // Read by session.ts: behind a proxy that terminates TLS the request itself may look like http.
  (app.locals as { publicHttps?: boolean }).publicHttps = publicHttps;
  // Framing: nobody, except the LMSs registered for LTI (their pages show kubedojo in an iframe).
  // Forms post to this site, and to the registered LMSs (the deep-linking answer goes back to the LMS).
  const formTargets = (_req: IncomingMessage, res: ServerResponse) => ["'self'", ...frameOriginsOf(res)].join(' ');
  const directives = { ...contentSecurityPolicy(publicHttps), 'frame-ancestors': [(req: IncomingMessage, res: ServerResponse) => frameAncestors(req.url ?? '', frameOriginsOf(res))], 'form-action': [formTargets] };
  app.use(loadFrameOrigins(deps.services.lti));
  app.use(helmet({ contentSecurityPolicy: { useDefaults: false, directives }, referrerPolicy: { policy: 'same-origin' }, frameguard: false, strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false } }));
  app.use(frameGuard);
  const limits = new EdgeLimits(deps.config.http.rateLimits, deps.logger, deps.rateLimits);
  const runningWorkshops = () => deps.services.workshops.runningCount();
  const probe = new CapacityProbe({ sandboxes: deps.sandboxes, terminals: deps.terminals, capacity: deps.config.sandboxes.capacity, runningWorkshops, logger: deps.logger });
  const metrics = createMetrics({ probe, sandboxes: deps.sandboxes, terminals: deps.terminals, grading: deps.services.grading, runningWorkshops, capacity: deps.config.sandboxes.capacity, routeLabel: routeLabeler(app), version: VERSION, leading: deps.leading ?? (() => false) });
  app.use(metrics.timer);
  app.use(express.json({ limit: '1mb' }));
  const { learners, auth, lessons, grading, workshops } = deps.services;
  const session = sessionMiddleware(learners, (req) => limits.take([['guests', addressKey(clientAddress(req))]]));

  app.use(healthRoutes({ db: deps.db, cluster: deps.cluster }));
  // Before the CSRF cookie and sessions: scrapers and API tools need neither.
  app.get('/metrics', metrics.handler);
  app.get('/api/openapi.json', openapiRoute(app, { version: VERSION }));
  // LTI: what LMSs post cross-site, each request with its own proof (lti-protocol.ts).
  app.use(ltiProtocolRoutes({ lti: deps.services.lti }));
  app.use(csrf);
  app.use('/api', sameOrigin, session.read);
  app.use('/api', authRoutes({ auth, learners, session, registration: deps.config.registration, limits }));
  app.use('/api', clusterRoutes({ cluster: deps.cluster, instance: () => readInstance(deps.db), version: VERSION }));
  app.use('/api', lessonRoutes({ lessons, session }));
  app.use('/api', sandboxRoutes({ sandboxes: deps.sandboxes, lessons, session, limits, placement: (learner) => workshops.sandboxPlacement(learner) }));
  app.use('/api', blockRoutes({ blocks: deps.services.blocks, session, limits }));
  app.use('/api', recordingRoutes({ recordings: deps.recordings, canReplay: (viewer, key) => workshops.instructsLearnerKey(viewer, key) }));
  app.use('/api', checkRoutes({ grading, lessons, session, limits }));
  app.use('/api', workshopRoutes({ workshops, learners, recordings: deps.recordings, session, limits }));
  app.use('/api', adminRoutes({ sandboxes: deps.sandboxes, terminals: deps.terminals, probe, session }));
  app.use('/api', ltiRoutes({ lti: deps.services.lti, session }));
  app.use('/api', apiNotFound);

  const clientDir = deps.clientDir ?? path.join(projectRoot, 'client', 'dist');
  const indexFile = path.join(clientDir, 'index.html');
  app.use(express.static(clientDir, { index: false, maxAge: '1h', setHeaders: (res, file) => {
    // Hashed asset names may be cached for long; index.html must always be fresh.
    if (file.includes(`${path.sep}assets${path.sep}`)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
  } }));
  app.get(/^(?!\/api\/|\/socket\.io\/).*/, (_req, res) => {
    if (!fs.existsSync(indexFile)) {
      res.status(503).type('text/plain').send('The web client is not built yet: run "npm run build".\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexFile);
  });
  app.use(errorHandler(logger));

  const server = http.createServer(app);
  // Terminal messages are small; anything larger is refused by socket.io itself.
  const io = new SocketServer(server, {
    serveClient: false,
    maxHttpBufferSize: 64 * 1024,
    // Browsers send Origin on WebSocket handshakes: another site must not ride on the session cookie.
    allowRequest: (req, callback) => {
      const origin = req.headers.origin;
      let sameSite = true;
      if (origin !== undefined) {
        try {
          sameSite = new URL(origin).host === req.headers.host;
        } catch {
          sameSite = false;
        }
      }
      callback(sameSite ? null : 'cross-site connections are not allowed', sameSite);
    },
  });
  const terminal = terminalNamespace(io, {
    learners,
    sandboxes: deps.sandboxes,
    terminals: deps.terminals,
    logger: deps.logger,
    canWatch: (viewer, namespace) => workshops.instructsSandbox(viewer, namespace),
    limitOpen: (learner, request) => limits.action('terminals', learner, proxyaddr(request, trust)),
    replicas: deps.socketAdapter !== undefined,
  });
  const live = liveNamespace(io, { learners, grading, workshops, logger: deps.logger });

  return {
    http: server,
    io,
    async prepare() {
      await deps.socketAdapter?.attach(io);
    },
    /** Closes what the app made (its listeners, the HTTP server, socket.io); the parts it was given are the caller's. */
    async close() {
      metrics.close();
      live.close();
      terminal.close();
      // io.close() waits for the HTTP server to close, which waits for every open connection (an
      // idle browser's can take a minute): stop listening and end them first.
      if (server.listening) server.close();
      server.closeAllConnections();
      await io.close().catch(() => undefined);
    },
  };
}
