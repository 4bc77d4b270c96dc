import { ApiException } from '@kubernetes/client-node';

/**
 * Every Kubernetes call made by the platform goes through `call`, which turns exceptions into
 * a typed result carrying the API's own message (for example "exceeded quota: …"), so callers
 * decide what a 404 or a 409 means instead of crashing on it.
 */

export type ApiErrorKind = 'unreachable' | 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'invalid' | 'timeout' | 'server';

export interface ApiError {
  kind: ApiErrorKind;
  /** HTTP status, when the API answered. */
  status?: number;
  /** The API's message (Status.message), or the network error's. */
  message: string;
  /** Status.reason, e.g. "AlreadyExists", "Forbidden". */
  reason?: string;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

function kindOf(status: number): ApiErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 400 || status === 422) return 'invalid';
  if (status === 408 || status === 504) return 'timeout';
  return 'server';
}

function parseBody(body: unknown): { message?: string; reason?: string } {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() === '' ? {} : { message: body.trim() };
    }
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return {
      ...(typeof record.message === 'string' ? { message: record.message } : {}),
      ...(typeof record.reason === 'string' ? { reason: record.reason } : {}),
    };
  }
  return {};
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiException) {
    const status = (error as ApiException<unknown>).code;
    const parsed = parseBody((error as ApiException<unknown>).body);
    return {
      kind: kindOf(status),
      status,
      message: parsed.message ?? `HTTP ${status}`,
      ...(parsed.reason !== undefined ? { reason: parsed.reason } : {}),
    };
  }
  const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException; type?: string };
  const code = err.code ?? err.cause?.code;
  const message = err.cause?.message ?? err.message;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET' || code === 'EAI_AGAIN') {
    return { kind: 'unreachable', message: `the API server is unreachable: ${message}` };
  }
  if (code === 'ETIMEDOUT' || err.name === 'AbortError' || err.name === 'TimeoutError' || err.type === 'request-timeout') {
    return { kind: 'timeout', message: `the API server did not answer in time: ${message}` };
  }
  return { kind: 'unreachable', message: `the API server could not be reached: ${message}` };
}

export async function call<T>(fn: () => Promise<T>): Promise<ApiResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: toApiError(error) };
  }
}

/** The first failure among several results, if any. */
export function firstError(results: readonly ApiResult<unknown>[]): ApiError | undefined {
  for (const result of results) if (!result.ok) return result.error;
  return undefined;
}
