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

/** GET a JSON endpoint of our API; failures carry the server's message. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const text = await response.text();
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = body as ApiErrorBody | undefined;
    throw new ApiError(response.status, error?.error.message ?? `HTTP ${response.status}`, error);
  }
  return body as T;
}
