/**
 * Typed errors that services throw and the HTTP layer maps to status codes in one place
 * (server/http/error-handler.ts). `details` carries structured context (for example the
 * field that failed validation) that is safe to show to the caller.
 */
export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class Invalid extends AppError {
  readonly status = 400;
  readonly code = 'invalid';
}

/** No signed-in account where one is needed. */
export class Unauthenticated extends AppError {
  readonly status = 401;
  readonly code = 'unauthenticated';
}

/** Too many attempts (sign-in); `details.retryAfterSeconds` says when to try again. */
export class RateLimited extends AppError {
  readonly status = 429;
  readonly code = 'rate_limited';
}

export class Forbidden extends AppError {
  readonly status = 403;
  readonly code = 'forbidden';
}

export class NotFound extends AppError {
  readonly status = 404;
  readonly code = 'not_found';
}

export class Conflict extends AppError {
  readonly status = 409;
  readonly code = 'conflict';
}

export class Unavailable extends AppError {
  readonly status = 503;
  readonly code = 'unavailable';
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** The message of anything thrown, for logs and CLI output. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
