import type { Express, Request } from 'express';

/**
 * The routes an Express 5 app has registered, read from its router stack: nested routers are
 * followed through the paths they are mounted at (`app.use('/api', router)`). The OpenAPI
 * document and the metrics' route label both come from here, so neither keeps a list of its own.
 */
export interface RouteEntry {
  /** The full Express path (`/api/sandboxes/:namespace`), or null for a regular expression. */
  path: string | null;
  /** Upper-case HTTP methods, in registration order (no implicit HEAD). */
  methods: string[];
  /** Every handler of the route, middleware included (validate() among them). */
  handlers: unknown[];
  /** The router's Route object, which Express puts on `req.route` when it matches. */
  route: object;
}

/**
 * What the `router` package keeps in a layer; read defensively, as none of it is public API.
 * `rawPath` (the mount path) is router 2.3's; without it every mount would look like `/`, which
 * test/unit/openapi.test.ts would catch.
 */
interface LayerShape {
  rawPath?: unknown;
  handle?: unknown;
  route?: unknown;
}

interface RouteShape {
  path: unknown;
  methods: Record<string, unknown>;
  stack: LayerShape[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function isRoute(value: unknown): value is RouteShape {
  return isRecord(value) && Array.isArray(value.stack) && isRecord(value.methods);
}

function stackOf(value: unknown): LayerShape[] | undefined {
  return isRecord(value) && Array.isArray(value.stack) ? (value.stack as LayerShape[]) : undefined;
}

/** `/api` + `/sandboxes` → `/api/sandboxes`; a router mounted at `/` adds nothing. */
function join(prefix: string | null, path: string | null): string | null {
  if (prefix === null || path === null) return null;
  const base = prefix.replace(/\/+$/, '');
  return `${base}${path.startsWith('/') ? '' : '/'}${path}` || '/';
}

function pathsOf(raw: unknown): (string | null)[] {
  if (raw === undefined) return ['/'];
  if (Array.isArray(raw)) return raw.map((p) => (typeof p === 'string' ? p : null));
  return [typeof raw === 'string' ? raw : null];
}

function walk(stack: LayerShape[], prefix: string | null, into: RouteEntry[]): void {
  for (const layer of stack) {
    if (isRoute(layer.route)) {
      const route = layer.route;
      const methods = Object.keys(route.methods)
        .filter((m) => m !== '_all')
        .map((m) => m.toUpperCase());
      const handlers = route.stack.map((l) => l.handle);
      for (const path of pathsOf(route.path)) into.push({ path: join(prefix, path), methods, handlers, route });
      continue;
    }
    const nested = stackOf(layer.handle);
    if (nested) for (const mount of pathsOf(layer.rawPath)) walk(nested, join(prefix, mount), into);
  }
}

/** Every route of the app, in the order Express tries them. Call it once all are registered. */
export function routeTable(app: Express): RouteEntry[] {
  const entries: RouteEntry[] = [];
  walk(stackOf(app.router) ?? [], '', entries);
  return entries;
}

/**
 * A bounded label for a request: the matched route's path template (never the raw URL, which
 * anyone can vary without end), `other` for routes matched by a regular expression, `none` when
 * no route matched (static files, 404s). The table is read on first use, after start-up.
 */
export function routeLabeler(app: Express): (req: Request) => string {
  let byRoute: WeakMap<object, string> | undefined;
  return (req) => {
    // Express sets req.route when a route matches; it stays set while an error is handled.
    const route: unknown = req.route;
    if (!isRecord(route)) return 'none';
    byRoute ??= new WeakMap(routeTable(app).map((e) => [e.route, e.path ?? 'other']));
    return byRoute.get(route) ?? 'other';
  };
}
