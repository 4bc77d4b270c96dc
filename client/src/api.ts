import type { ApiErrorBody } from '../../server/protocol.ts';
import { ltiToken } from './lti.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody | undefined;
  constructor(status: number, message: string, body?: ApiErrorBody) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The CSRF token the server set as a cookie; every state-changing request echoes it in a header. */
function csrfToken(): string {
  const match = /(?:^|;\s*)kd_csrf=([^;]*)/.exec(document.cookie);
  return match?.[1] ?? '';
}

async function request<T>(method: string, url: string, body?: unknown, as: 'json' | 'text' = 'json'): Promise<T> {
  const headers: Record<string, string> = { accept: as === 'json' ? 'application/json' : '*/*' };
  // Inside an LMS frame the session is a token, not a cookie (lti.ts).
  const token = ltiToken();
  if (token) headers.authorization = `Bearer ${token}`;
  else if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  if (as === 'text' && response.ok) return text as T;
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.status === 204) return undefined as T;
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

/** GET a text resource of our API (a recording's asciicast); failures carry the server's message. */
export function getText(url: string): Promise<string> {
  return request<string>('GET', url, undefined, 'text');
}

export function postJson<T>(url: string, body: unknown): Promise<T> {
  return request<T>('POST', url, body);
}

export function putJson<T>(url: string, body: unknown): Promise<T> {
  return request<T>('PUT', url, body);
}

export function deleteJson(url: string): Promise<void> {
  return request<undefined>('DELETE', url);
}
