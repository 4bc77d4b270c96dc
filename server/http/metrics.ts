import type { Request, RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GradingEvent } from '../grading/service.ts';
import type { SandboxEvent, SandboxService } from '../sandboxes/service.ts';
import { CHECK_STATUSES, SANDBOX_SIZES, SANDBOX_STATES } from '../vocabulary.ts';
import type { TerminalManager } from '../terminal/manager.ts';
import type { CapacityProbe } from './capacity.ts';

const SANDBOX_EVENTS: readonly SandboxEvent['type'][] = ['created', 'deleted', 'reset', 'extended'];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The `'event'` side of an EventEmitter (SandboxService, GradingService). */
interface Events<E> {
  on(name: 'event', listener: (event: E) => void): unknown;
  off(name: 'event', listener: (event: E) => void): unknown;
}

export interface Metrics {
  registry: Registry;
  /** Times every request; mount it before the routes. */
  timer: RequestHandler;
  /** GET /metrics in Prometheus' text format. */
  handler: RequestHandler;
  /** Stops listening to the services' events. */
  close(): void;
}

/**
 * Prometheus metrics on a registry of their own (never prom-client's global one, so two apps in
 * one process do not collide). Gauges are read at scrape time; counters and histograms follow
 * the services' events. Every label value comes from a fixed set or from the route table, never
 * from a request: a client cannot create series.
 */
export function createMetrics(deps: {
  /** Lists the sandboxes, shared with the admin page and kept a few seconds. */
  probe: CapacityProbe;
  sandboxes: Events<SandboxEvent> & Pick<SandboxService, 'poolSizeOf'>;
  terminals: Pick<TerminalManager, 'count'>;
  grading: Events<GradingEvent>;
  runningWorkshops: () => Promise<number>;
  capacity: number;
  routeLabel: (req: Request) => string;
  version: string;
  /** Whether this replica holds the leader Lease. */
  leading: () => boolean;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  new Gauge({ name: 'kubedojo_info', help: 'The kubedojo server, by version (always 1).', labelNames: ['version'], registers }).set({ version: deps.version }, 1);

  const { probe } = deps;
  const sandboxes = new Gauge({
    name: 'kubedojo_sandboxes',
    help: "Learners' sandboxes in the cluster by state (absent while the cluster cannot be listed).",
    labelNames: ['state'],
    registers,
    collect: async () => {
      const listing = await probe.sandboxes();
      sandboxes.reset();
      listOk.set(listing.ok ? 1 : 0);
      if (listing.ok) for (const state of SANDBOX_STATES) sandboxes.set({ state }, listing.byState[state]);
    },
  });
  const listOk = new Gauge({ name: 'kubedojo_sandbox_list_ok', help: 'Whether the last listing of sandboxes from the cluster worked (1) or not (0).', registers });
  new Gauge({ name: 'kubedojo_sandbox_capacity', help: 'The most sandboxes the platform makes (--sandbox-capacity).', registers }).set(deps.capacity);
  const pool = new Gauge({
    name: 'kubedojo_warm_pool_sandboxes',
    help: 'Ready sandboxes in the warm pool of this server, by size.',
    labelNames: ['size'],
    registers,
    collect: () => {
      for (const size of SANDBOX_SIZES) pool.set({ size }, deps.sandboxes.poolSizeOf(size));
    },
  });
  const terminals = new Gauge({
    name: 'kubedojo_terminals_open',
    help: 'Terminal sessions open on this server (one per sandbox).',
    registers,
    collect: () => {
      terminals.set(deps.terminals.count);
    },
  });
  const workshops = new Gauge({
    name: 'kubedojo_workshops_running',
    help: 'Workshops that have started and not ended.',
    registers,
    collect: async () => {
      workshops.set(await deps.runningWorkshops());
    },
  });

  const leader = new Gauge({
    name: 'kubedojo_leader',
    help: 'Whether this replica holds the leader Lease and runs the once-per-cluster work (1) or not (0).',
    registers,
    collect: () => {
      leader.set(deps.leading() ? 1 : 0);
    },
  });

  const checks = new Counter({ name: 'kubedojo_checks_total', help: 'Check runs finished, by status.', labelNames: ['status'], registers });
  const checkSeconds = new Histogram({
    name: 'kubedojo_check_duration_seconds',
    help: 'How long check runs took, by status.',
    labelNames: ['status'],
    // Checks poll until the cluster settles: a second for a wrong field, minutes for an autoscaler.
    buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers,
  });
  const sandboxEvents = new Counter({ name: 'kubedojo_sandbox_events_total', help: 'Sandboxes created (new or from the warm pool), deleted, reset and extended by this server.', labelNames: ['type'], registers });
  const http = new Histogram({
    name: 'kubedojo_http_request_duration_seconds',
    help: 'HTTP requests by method, matched route (its path template; "none" when no route matched) and status.',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  // Series that exist from the start, so rates work before the first event.
  for (const status of CHECK_STATUSES) checks.inc({ status }, 0);
  for (const type of SANDBOX_EVENTS) sandboxEvents.inc({ type }, 0);

  const onGrading = (event: GradingEvent) => {
    if (event.type !== 'finished') return;
    const { run } = event;
    const status = CHECK_STATUSES.find((s) => s === run.status) ?? 'error';
    checks.inc({ status });
    const ms = run.report?.durationMs ?? (run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : NaN);
    if (Number.isFinite(ms) && ms >= 0) checkSeconds.observe({ status }, ms / 1000);
  };
  const onSandbox = (event: SandboxEvent) => {
    if (SANDBOX_EVENTS.includes(event.type)) sandboxEvents.inc({ type: event.type });
  };
  deps.grading.on('event', onGrading);
  deps.sandboxes.on('event', onSandbox);

  const timer: RequestHandler = (req, res, next) => {
    const end = http.startTimer();
    res.once('finish', () => {
      end({ method: METHODS.has(req.method) ? req.method : 'other', route: deps.routeLabel(req), status: String(res.statusCode) });
    });
    next();
  };

  const handler: RequestHandler = async (_req, res) => {
    const text = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(text);
  };

  return {
    registry,
    timer,
    handler,
    close() {
      deps.grading.off('event', onGrading);
      deps.sandboxes.off('event', onSandbox);
    },
  };
}
