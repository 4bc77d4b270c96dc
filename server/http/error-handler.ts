import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isAppError, NotFound } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ApiErrorBody } from '../protocol.ts';
import { ltiErrorPage, wantsLtiPage } from './lti-pages.ts';

/** The one place where errors become HTTP answers. Unknown errors are logged in full and
 * answered generically, so no stack trace or internal detail reaches a client. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    // body-parser's errors (malformed JSON, too large) carry a status and are the client's fault.
    const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : undefined;
    if (isAppError(error)) {
      const issues = error.details?.issues as ApiErrorBody['error']['issues'];
      // An LMS shows our answer in its frame: a page that says what was wrong, not JSON.
      if (wantsLtiPage(req)) {
        res.status(error.status).type('html').send(ltiErrorPage(error.status, error.message, issues ?? []));
        return;
      }
      const body: ApiErrorBody = {
        error: { code: error.code as ApiErrorBody['error']['code'], message: error.message, ...(issues ? { issues } : {}) },
      };
      const retryAfter = error.details?.retryAfterSeconds;
      if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(Math.ceil(retryAfter)));
      res.status(error.status).json(body);
      return;
    }
    if (status !== undefined && status >= 400 && status < 500) {
      // body-parser's errors carry a `type`; the router's only 4xx (a path segment that is not
      // valid percent-encoding, such as %ED%A0%80) does not, and is no fault of the body.
      const inPath = !('type' in (error as object));
      const message = inPath ? 'the path is not valid percent-encoded UTF-8' : status === 413 ? 'request body is too large' : 'request body is not valid JSON';
      const body: ApiErrorBody = { error: { code: 'invalid', message, issues: [{ field: inPath ? 'params' : 'body', message }] } };
      res.status(status === 413 ? 413 : 400).json(body);
      return;
    }
    logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error while serving a request');
    if (wantsLtiPage(req)) {
      res.status(500).type('html').send(ltiErrorPage(500, 'Something went wrong on the server; it has been logged.'));
      return;
    }
    const body: ApiErrorBody = { error: { code: 'internal', message: 'Something went wrong on the server; it has been logged.' } };
    res.status(500).json(body);
  };
}

export const apiNotFound: RequestHandler = (req, _res, next) => {
  next(new NotFound(`no API endpoint ${req.method} ${req.path}`));
};
