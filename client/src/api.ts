import type { ApiErrorBody } from '../../server/protocol.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody | undefined;
  constructor(status: number, message: string, body?: ApiErrorBody) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = parsed as ApiErrorBody | undefined;
    throw new ApiError(response.status, error?.error.message ?? `HTTP ${response.status}`, error);
  }
  return parsed as T;
}

/** GET a JSON endpoint of our API; failures carry the server's message. */
export function getJson<T>(url: string): Promise<T> {
  return request<T>('GET', url);
}

export function postJson<T>(url: string, body: unknown): Promise<T> {
  return request<T>('POST', url, body);
}

export function putJson<T>(url: string, body: unknown): Promise<T> {
  return request<T>('PUT', url, body);
}
