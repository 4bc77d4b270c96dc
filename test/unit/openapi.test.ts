import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/cluster/paths.ts';
import { openapiPath } from '../../server/http/openapi.ts';
import { deadKubeconfig, startTestServer, type TestServer } from '../helpers/app.ts';

/** GET /api/openapi.json: generated from the zod schemas that validate the requests. */

interface Parameter {
  name: string;
  in: string;
  required: boolean;
  schema: Record<string, unknown>;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: { type?: string; properties?: Record<string, Record<string, unknown>>; required?: string[]; additionalProperties?: boolean } }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security?: Record<string, string[]>[];
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }>; securitySchemes: Record<string, unknown> };
}

let server: TestServer;
let dir: string;
let doc: Document;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-openapi-'));
  const { file: kubeconfig } = await deadKubeconfig(dir);
  server = await startTestServer({ kubeconfig });
  const response = await fetch(`${server.url}/api/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await response.json()) as Document;
});

afterAll(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Every `router.<method>('<path>', … validate(…` in the route files: found by reading the source, not the router. */
async function validatedRoutesInSource(): Promise<{ method: string; path: string }[]> {
  const folder = path.join(projectRoot, 'server', 'http', 'routes');
  const found: { method: string; path: string }[] = [];
  for (const file of await fs.readdir(folder)) {
    const source = await fs.readFile(path.join(folder, file), 'utf8');
    for (const match of source.matchAll(/router\.(get|post|put|patch|delete)\('([^']+)',[^\n]*\bvalidate\(/g)) {
      found.push({ method: match[1] ?? '', path: `/api${match[2] ?? ''}` });
    }
  }
  return found;
}

describe('the OpenAPI document', () => {
  it('looks like OpenAPI 3.1 and every operation is well formed', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'kubedojo', version: expect.any(String) as string });
    expect(Object.keys(doc.paths).length).toBeGreaterThan(30);
    const ids = new Set<string>();
    for (const [pathKey, item] of Object.entries(doc.paths)) {
      expect(pathKey).toMatch(/^\//);
      expect(pathKey).not.toContain(':');
      for (const [method, op] of Object.entries(item)) {
        expect(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']).toContain(method);
        expect(ids.has(op.operationId), `operationId ${op.operationId} is unique`).toBe(false);
        ids.add(op.operationId);
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        // Every templated segment is declared as a required path parameter, and nothing else is.
        const templated = [...pathKey.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort()).toEqual([...templated].sort());
        for (const p of declared) expect(p.required).toBe(true);
        // The schemas are plain JSON Schema embedded in the document, not standalone documents.
        expect(JSON.stringify(op)).not.toContain('$schema');
        if (['post', 'put', 'patch', 'delete'].includes(method)) expect(op.security).toEqual([{ csrf: [] }]);
      }
    }
  });

  it('describes the shared error body and points every 4xx at it', () => {
    const error = doc.components.schemas.ApiErrorBody;
    expect(error?.properties).toHaveProperty('error');
    expect(JSON.stringify(error)).toContain('"issues"');
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) expect(ref).toBe('"$ref":"#/components/schemas/ApiErrorBody"');
    for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) expect(op.responses['4XX']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ApiErrorBody' });
    expect(doc.components.securitySchemes).toHaveProperty('csrf');
  });

  it('has POST /api/sandboxes/{namespace}/checks with its body, path and query', () => {
    const op = doc.paths['/api/sandboxes/{namespace}/checks']?.post;
    expect(op).toBeDefined();
    const body = op?.requestBody?.content['application/json']?.schema;
    expect(op?.requestBody?.required).toBe(true);
    expect(body?.type).toBe('object');
    expect(body?.properties?.exercise).toMatchObject({ type: 'string', pattern: expect.any(String) as string });
    expect(body?.additionalProperties).toBe(false);
    expect(op?.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'namespace', in: 'path', required: true }),
        expect.objectContaining({ name: 'wait', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } }),
      ]),
    );
    expect(op?.responses['400']?.description).toContain('error.issues');
  });

  it('has POST /api/join with code and displayName, both required', () => {
    const schema = doc.paths['/api/join']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(['code', 'displayName']);
    expect([...(schema?.required ?? [])].sort()).toEqual(['code', 'displayName']);
    expect(schema?.properties?.displayName).toMatchObject({ type: 'string', maxLength: 60 });
  });

  it('lists every route that validates its input', async () => {
    const routes = await validatedRoutesInSource();
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      const key = openapiPath(route.path);
      expect(key, route.path).not.toBeNull();
      expect(doc.paths[key ?? '']?.[route.method], `${route.method.toUpperCase()} ${route.path}`).toBeDefined();
      expect(doc.paths[key ?? '']?.[route.method]?.responses['400'], `${route.method.toUpperCase()} ${route.path} answers 400`).toBeDefined();
    }
  });

  it('lists the routes without input too, and the operations endpoints', () => {
    expect(doc.paths['/api/session']?.get).toBeDefined();
    expect(doc.paths['/api/admin/capacity']?.get).toBeDefined();
    expect(doc.paths['/api/admin/reap']?.post).toBeDefined();
    expect(doc.paths['/metrics']?.get).toBeDefined();
    expect(doc.paths['/healthz']?.get).toBeDefined();
  });

  it('is the same document on every request', async () => {
    expect(await (await fetch(`${server.url}/api/openapi.json`)).json()).toEqual(doc);
  });

  it('turns Express paths into OpenAPI paths', () => {
    expect(openapiPath('/api/workshops/:id/sandboxes/:namespace/reset')).toBe('/api/workshops/{id}/sandboxes/{namespace}/reset');
    expect(openapiPath('/files/*rest')).toBe('/files/{rest}');
    expect(openapiPath('/a{/:optional}')).toBeNull();
  });
});
