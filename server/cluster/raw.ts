import https from 'node:https';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { toApiError, type ApiError, type ApiResult } from './api.ts';

/**
 * Sends Kubernetes objects to the API server exactly as written. The generated client
 * serializes through its typed models, which silently drop fields whose JSON names it renames
 * (a LimitRange's `default`, a CRD schema's `x-kubernetes-validations`, `$ref`, `enum` …);
 * for manifests from files, templates and learners that would be wrong, so objects go as
 * plain JSON here. The client still finds each kind's URL (discovery, cached).
 */

class ResourcePaths extends KubernetesObjectApi {
  async pathOf(spec: KubernetesObject, action: 'create' | 'patch' | 'read' | 'delete', defaultNamespace: string): Promise<string> {
    this.defaultNamespace = defaultNamespace;
    return this.specUriPath(spec, action);
  }
}

export interface RawResponse<T> {
  status: number;
  body: T;
}

export class RawClient {
  private readonly kc: KubeConfig;
  private readonly paths: ResourcePaths;
  private options: Promise<https.RequestOptions> | undefined;
  readonly fieldManager: string;

  constructor(kc: KubeConfig, fieldManager = 'kubedojo') {
    this.kc = kc;
    this.paths = kc.makeApiClient(ResourcePaths);
    this.fieldManager = fieldManager;
  }

  private requestOptions(): Promise<https.RequestOptions> {
    this.options ??= (async () => {
      const options: https.RequestOptions = {};
      await this.kc.applyToHTTPSOptions(options);
      return options;
    })();
    return this.options;
  }

  private inflight = 0;
  private readonly waiting: (() => void)[] = [];
  /** Requests in flight at once: a burst of sandboxes must queue here, not be refused by the server. */
  static readonly MAX_INFLIGHT = 48;

  private async acquire(): Promise<void> {
    if (this.inflight < RawClient.MAX_INFLIGHT) {
      this.inflight += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inflight -= 1;
  }

  /**
   * One request; non-2xx answers and network failures become the API's typed error. "Too many
   * requests" (API priority and fairness) is retried after the server's Retry-After.
   */
  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', headers: Record<string, string | string[]> = {}): Promise<ApiResult<RawResponse<T>>> {
    for (let attempt = 0; ; attempt += 1) {
      await this.acquire();
      let result: ApiResult<RawResponse<T>> & { retryAfter?: number };
      try {
        result = await this.once<T>(method, path, body, contentType, headers);
      } finally {
        this.release();
      }
      if (result.ok || result.error.status !== 429 || attempt >= 8) return result;
      await sleep((result.retryAfter ?? 1) * 1000 * (0.5 + Math.random()));
    }
  }

  private async once<T>(method: string, path: string, body: unknown, contentType: string, headers: Record<string, string | string[]>): Promise<ApiResult<RawResponse<T>> & { retryAfter?: number }> {
    const server = this.kc.getCurrentCluster()?.server ?? '';
    const url = new URL(server.replace(/\/+$/, '') + path);
    const base = await this.requestOptions();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const baseHeaders: http.OutgoingHttpHeaders = base.headers && !Array.isArray(base.headers) ? (base.headers as http.OutgoingHttpHeaders) : {};
    return new Promise((resolve) => {
      const request = (url.protocol === 'http:' ? http : https).request(
        url,
        {
          ...base,
          method,
          headers: {
            ...baseHeaders,
            accept: 'application/json',
            ...headers,
            ...(payload !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text for the error message
            }
            if (status >= 200 && status < 300) resolve({ ok: true, value: { status, body: parsed as T } });
            else resolve({ ok: false, error: httpError(status, parsed), retryAfter: Number(response.headers['retry-after'] ?? 1) || 1 });
          });
          response.on('error', (error) => {
            resolve({ ok: false, error: toApiError(error) });
          });
        },
      );
      request.setTimeout(30_000, () => request.destroy(Object.assign(new Error('no answer within 30 s'), { code: 'ETIMEDOUT' })));
      request.on('error', (error) => {
        resolve({ ok: false, error: toApiError(error) });
      });
      if (payload !== undefined) request.write(payload);
      request.end();
    });
  }

  private readonly discovery = new Map<string, { at: number; resources: { name: string; kind: string; namespaced: boolean }[] }>();

  /**
   * The resource behind an apiVersion and kind (plural, whether namespaced), from discovery,
   * cached briefly; a kind missing from the cache is looked up again, so a CRD created a moment
   * ago is found.
   */
  async resource(apiVersion: string, kind: string): Promise<ApiResult<{ plural: string; namespaced: boolean }>> {
    const find = (entry: { resources: { name: string; kind: string; namespaced: boolean }[] } | undefined) =>
      entry?.resources.find((r) => r.kind === kind && !r.name.includes('/'));
    let entry = this.discovery.get(apiVersion);
    let found = entry && Date.now() - entry.at < 60_000 ? find(entry) : undefined;
    if (!found) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const list = await this.get<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>(path);
      if (!list.ok) {
        if (list.error.kind === 'not-found') return { ok: false, error: { kind: 'not-found', message: `the API server does not serve ${apiVersion}` } };
        return list;
      }
      entry = { at: Date.now(), resources: list.value.resources ?? [] };
      this.discovery.set(apiVersion, entry);
      found = find(entry);
    }
    if (!found) return { ok: false, error: { kind: 'not-found', message: `the API server does not serve the kind ${kind} in ${apiVersion}` } };
    return { ok: true, value: { plural: found.name, namespaced: found.namespaced } };
  }

  async get<T>(path: string): Promise<ApiResult<T>> {
    const result = await this.request<T>('GET', path);
    return result.ok ? { ok: true, value: result.value.body } : result;
  }

  async delete(path: string, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<ApiResult<unknown>> {
    const result = await this.request<unknown>('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy });
    return result.ok ? { ok: true, value: result.value.body } : result;
  }

  private async path(object: KubernetesObject, action: 'create' | 'patch' | 'read' | 'delete', namespace?: string): Promise<ApiResult<string>> {
    try {
      return { ok: true, value: await this.paths.pathOf(structuredClone(object), action, namespace ?? 'default') };
    } catch (error) {
      const result = toApiError(error);
      // Discovery failing on an unknown kind is the object's fault, not the network's.
      if (error instanceof Error && error.message.startsWith('Unrecognized API version and kind')) return { ok: false, error: { kind: 'invalid', message: error.message } };
      return { ok: false, error: result };
    }
  }

  private query(options: { dryRun?: boolean; force?: boolean }): string {
    const params = new URLSearchParams({ fieldManager: this.fieldManager });
    if (options.force) params.set('force', 'true');
    if (options.dryRun) params.set('dryRun', 'All');
    return `?${params.toString()}`;
  }

  /** Server-side apply (the object is sent as written). */
  async apply<T extends KubernetesObject>(object: KubernetesObject, options: { dryRun?: boolean; force?: boolean; namespace?: string } = {}): Promise<ApiResult<T>> {
    const path = await this.path(object, 'patch', options.namespace);
    if (!path.ok) return path;
    const result = await this.request<T>('PATCH', path.value + this.query({ force: options.force ?? true, ...(options.dryRun ? { dryRun: true } : {}) }), object, 'application/apply-patch+yaml');
    return result.ok ? { ok: true, value: result.value.body } : result;
  }

  /** `impersonate` sends the request as that user and groups (needs the impersonate verb). */
  async create<T extends KubernetesObject>(
    object: KubernetesObject,
    options: { dryRun?: boolean; namespace?: string; impersonate?: { user: string; groups: string[] } } = {},
  ): Promise<ApiResult<T>> {
    const path = await this.path(object, 'create', options.namespace);
    if (!path.ok) return path;
    const headers: Record<string, string | string[]> = options.impersonate ? { 'Impersonate-User': options.impersonate.user, 'Impersonate-Group': options.impersonate.groups } : {};
    const result = await this.request<T>('POST', path.value + this.query(options.dryRun ? { dryRun: true } : {}), object, 'application/json', headers);
    return result.ok ? { ok: true, value: result.value.body } : result;
  }

  /** POST to a path (subresources such as serviceaccounts/token). */
  async post<T>(path: string, body: unknown): Promise<ApiResult<T>> {
    const result = await this.request<T>('POST', path, body);
    return result.ok ? { ok: true, value: result.value.body } : result;
  }

  /** JSON merge patch: `null` removes a key; a resourceVersion in metadata makes it conditional. */
  async mergePatch<T extends KubernetesObject>(object: KubernetesObject): Promise<ApiResult<T>> {
    const path = await this.path(object, 'patch');
    if (!path.ok) return path;
    const result = await this.request<T>('PATCH', path.value + this.query({}), object, 'application/merge-patch+json');
    return result.ok ? { ok: true, value: result.value.body } : result;
  }
}

function httpError(status: number, body: unknown): ApiError {
  const record = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const message = typeof record.message === 'string' ? record.message : typeof body === 'string' && body.trim() ? body.trim() : `HTTP ${status}`;
  const kind: ApiError['kind'] =
    status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not-found' : status === 409 ? 'conflict' : status === 400 || status === 422 ? 'invalid' : status === 504 ? 'timeout' : 'server';
  return { kind, status, message, ...(typeof record.reason === 'string' ? { reason: record.reason } : {}) };
}
