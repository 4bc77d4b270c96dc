import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { Invalid } from '../errors.ts';

export interface Schemas {
  body?: z.ZodType;
  query?: z.ZodType;
  params?: z.ZodType;
}

/** Issues as `{ field, message }`, the field a dotted path such as `body.options.0`. */
export function issuesOf(part: string, error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((issue) => ({ field: [part, ...issue.path.map(String)].join('.'), message: issue.message }));
}

/** The schemas behind each middleware `validate()` made, so the OpenAPI document is generated
 * from exactly what validates requests (server/http/openapi.ts). */
const attached = new WeakMap<object, Schemas>();

/** The schemas a request handler validates, if it is one `validate()` returned. */
export function schemasOf(handler: unknown): Schemas | undefined {
  return typeof handler === 'function' ? attached.get(handler) : undefined;
}

/**
 * Validates request parts against zod schemas before the handler runs; the parsed values
 * replace the raw ones (body) or are put on `res.locals` (query, params), so handlers only
 * ever see data that passed.
 */
export function validate(schemas: Schemas): RequestHandler {
  const middleware = (req: Request, res: Response, next: NextFunction) => {
    const issues: { field: string; message: string }[] = [];
    for (const part of ['params', 'query', 'body'] as const) {
      const schema = schemas[part];
      if (!schema) continue;
      const result = schema.safeParse(req[part]);
      if (!result.success) issues.push(...issuesOf(part, result.error));
      else if (part === 'body') req.body = result.data;
      else res.locals[part] = result.data;
    }
    if (issues.length > 0) {
      next(new Invalid(issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues }));
      return;
    }
    next();
  };
  attached.set(middleware, schemas);
  return middleware;
}
