import type { z } from 'zod';
import { AppError, unauthorized } from '../domain/errors.js';
import type { RequestContext } from './router.js';

/** Parses the JSON body against its schema; an empty body is `{}`. Errors name the field. */
export function parseBody<S extends z.ZodType>(ctx: RequestContext, schema: S): z.infer<S> {
  let value: unknown = {};
  if (ctx.rawBody.length > 0) {
    const type = ctx.headers['content-type'] ?? '';
    if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json');
    }
    try {
      value = JSON.parse(ctx.rawBody.toString('utf8'));
    } catch {
      throw new AppError('INVALID_REQUEST', 'The body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    throw new AppError('INVALID_REQUEST', `${field}: ${issue?.message ?? 'invalid'}`, {
      field,
      issues: parsed.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return parsed.data;
}

/** The Bearer credential, or undefined when there is no Authorization header. */
export function bearerToken(ctx: RequestContext): string | undefined {
  const header = ctx.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized('Authorization must be "Bearer <token>"');
  return match[1];
}

export function requireBearer(ctx: RequestContext): string {
  const token = bearerToken(ctx);
  if (!token) throw unauthorized('Missing Authorization: Bearer <token>');
  return token;
}
