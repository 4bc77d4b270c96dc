import type { Express, RequestHandler } from 'express';
import { z } from 'zod';
import type { ApiErrorBody } from '../protocol.ts';
import { routeTable, type RouteEntry } from './route-table.ts';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE } from './session.ts';
import { schemasOf, type Schemas } from './validate.ts';

type JsonSchema = Record<string, unknown>;

/** The one error body of the API (server/http/error-handler.ts), checked against its wire type. */
const apiErrorBody = z.object({
  error: z.object({
    code: z.enum(['invalid', 'unauthenticated', 'forbidden', 'not_found', 'conflict', 'rate_limited', 'unavailable', 'internal']),
    message: z.string(),
    issues: z.array(z.object({ field: z.string().describe('a dotted path such as body.options.0'), message: z.string() })).optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
}) satisfies z.ZodType<ApiErrorBody>;

const ERROR_REF = { $ref: '#/components/schemas/ApiErrorBody' };
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** zod's JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) of what a request may send. */
function jsonSchema(schema: z.ZodType): JsonSchema {
  // `io: 'input'`: requests are described before transforms and defaults apply. Types JSON
  // Schema cannot express become `{}` rather than failing the whole document.
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  // Embedded in the document, whose dialect OpenAPI 3.1 already declares.
  delete json.$schema;
  return json;
}

/** One OpenAPI parameter per property of an object schema (path or query). */
function parametersOf(schema: z.ZodType, where: 'path' | 'query'): JsonSchema[] {
  const json = jsonSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(json.required) ? (json.required as string[]) : []);
  return Object.entries(properties).map(([name, property]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: property }));
}

/** `:namespace` and `*rest` → `{namespace}`; null for paths OpenAPI cannot express (optional `{…}` groups). */
export function openapiPath(expressPath: string): string | null {
  if (/[{}()?]/.test(expressPath)) return null;
  return expressPath.replace(/[:*]([A-Za-z_$][\w$]*)/g, '{$1}');
}

function operationOf(entry: RouteEntry, method: string, path: string): JsonSchema {
  const schemas: Schemas = {};
  for (const handler of entry.handlers) Object.assign(schemas, schemasOf(handler));
  const parameters = [...(schemas.params ? parametersOf(schemas.params, 'path') : []), ...(schemas.query ? parametersOf(schemas.query, 'query') : [])];
  // A path parameter without a schema is still part of the path: declare it as a string.
  for (const match of path.matchAll(/\{([^}]+)\}/g)) {
    const name = match[1] ?? '';
    if (!parameters.some((p) => p.in === 'path' && p.name === name)) parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
  }
  const segments = path.split('/').filter((s) => s !== '');
  const operation: JsonSchema = {
    // get /api/lessons/{slug} → get_api_lessons_by_slug: unique as long as the paths are.
    operationId: [method.toLowerCase(), ...segments.map((s) => s.replace(/^\{(.*)\}$/, 'by_$1').replace(/[^A-Za-z0-9]+/g, '_'))].join('_'),
    tags: [segments[0] === 'api' ? (segments[1] ?? 'api') : 'operations'],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(schemas.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(schemas.body) } } } } : {}),
    responses: {
      '2XX': { description: 'Success; the body is the response type of server/protocol.ts.' },
      ...(entry.handlers.some((h) => schemasOf(h) !== undefined) ? { '400': { description: 'The request did not validate: `error.issues` names each field.', content: { 'application/json': { schema: ERROR_REF } } } } : {}),
      '4XX': { description: 'A typed error (unauthenticated, forbidden, not found, conflict, rate limited).', content: { 'application/json': { schema: ERROR_REF } } },
      '5XX': { description: '503 when the cluster cannot be reached; 500 for a fault, logged on the server.', content: { 'application/json': { schema: ERROR_REF } } },
    },
  };
  if (STATE_CHANGING.has(method)) operation.security = [{ csrf: [] }];
  return operation;
}

/**
 * The OpenAPI 3.1 document of an app, generated from its router stack: every route with a string
 * path, its methods, and the zod schemas its `validate()` middleware checks (body, query, path).
 */
export function openapiDocument(app: Express, info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const entry of routeTable(app)) {
    const path = entry.path === null ? null : openapiPath(entry.path);
    if (path === null) continue;
    const item = (paths[path] ??= {});
    for (const method of entry.methods) item[method.toLowerCase()] ??= operationOf(entry, method, path);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'kubedojo',
      version: info.version,
      description: `The kubedojo REST API. State-changing requests need the ${CSRF_COOKIE} cookie's value in the ${CSRF_HEADER} header (any GET sets the cookie) and a JSON body; the session is the ${SESSION_COOKIE} cookie.`,
    },
    paths,
    components: {
      schemas: { ApiErrorBody: jsonSchema(apiErrorBody) },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Set by sign-in, join, or the first state-changing request (a guest).' },
        csrf: { type: 'apiKey', in: 'header', name: CSRF_HEADER, description: `The value of the ${CSRF_COOKIE} cookie (double-submit).` },
      },
    },
  };
}

/** GET handler for the document, built on the first request (every route is registered by then). */
export function openapiRoute(app: Express, info: { version: string }): RequestHandler {
  let body: string | undefined;
  return (_req, res) => {
    body ??= JSON.stringify(openapiDocument(app, info));
    res.type('application/json').setHeader('Cache-Control', 'no-cache');
    res.send(body);
  };
}
