import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { AppError } from '../domain/errors.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from './uws.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RequestContext {
  method: HttpMethod;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  requestId: string;
  clientIp: string;
  rawBody: Buffer;
  log: Logger;
}

export interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Route {
  method: HttpMethod;
  /** uWS pattern, e.g. `/api/v1/queues/:queue_id/status`. */
  pattern: string;
  handler: (ctx: RequestContext) => Promise<Reply> | Reply;
}

export type MountedRoute = Pick<Route, 'method' | 'pattern'>;

export interface RouterOptions {
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  resolveClientIp: (peer: string, forwardedFor: string | undefined) => string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After',
};

export function errorBody(err: AppError, requestId: string) {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details) error.details = err.details;
  return { error, request_id: requestId };
}

/**
 * Mounts routes on a uWS app. uWS hands us a request object that is valid only until the
 * handler first yields, so everything is copied out synchronously; the response is written
 * corked, and never after the client went away.
 */
export function mountRoutes(app: TemplatedApp, routes: Route[], opts: RouterOptions) {
  let inFlight = 0;
  const byPattern = new Map<string, Route[]>();
  for (const route of routes) byPattern.set(route.pattern, [...(byPattern.get(route.pattern) ?? []), route]);

  for (const [pattern, methods] of byPattern) {
    const paramNames = pattern.split('/').flatMap((seg) => (seg.startsWith(':') ? [seg.slice(1)] : []));
    app.any(pattern, (res, req) => {
      const method = req.getCaseSensitiveMethod().toUpperCase();
      if (method === 'OPTIONS') return preflight(res, methods);
      const route = methods.find((r) => r.method === method);
      if (!route) {
        const allow = methods.map((r) => r.method).join(', ');
        return handle(res, req, paramNames, pattern, () => {
          throw new AppError('METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allow}`, undefined, { allow });
        });
      }
      handle(res, req, paramNames, pattern, route.handler);
    });
  }
  app.any('/*', (res, req) =>
    handle(res, req, [], 'unmatched', (ctx) => {
      throw new AppError('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
    }),
  );

  function preflight(res: HttpResponse, methods: Route[]) {
    res.writeStatus('204 No Content');
    for (const [k, v] of Object.entries(CORS_HEADERS)) res.writeHeader(k, v);
    res.writeHeader('access-control-allow-methods', [...methods.map((r) => r.method), 'OPTIONS'].join(', '));
    res.writeHeader('access-control-allow-headers', 'Authorization, Content-Type, X-Request-Id, X-Admin-Key');
    res.writeHeader('access-control-max-age', '600');
    res.end();
  }

  function handle(
    res: HttpResponse,
    req: HttpRequest,
    paramNames: string[],
    routeName: string,
    handler: Route['handler'],
  ) {
    const started = process.hrtime.bigint();
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    });
    const params: Record<string, string> = {};
    paramNames.forEach((name, i) => {
      params[name] = req.getParameter(i) ?? '';
    });
    const incomingId = headers['x-request-id'];
    const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
    const ctx: RequestContext = {
      method: req.getCaseSensitiveMethod().toUpperCase() as HttpMethod,
      path: req.getUrl(),
      params,
      query: new URLSearchParams(req.getQuery() ?? ''),
      headers,
      requestId,
      clientIp: opts.resolveClientIp(peer, headers['x-forwarded-for']),
      rawBody: Buffer.alloc(0),
      log: opts.logger.child({ request_id: requestId }),
    };
    let done = false;
    inFlight++;
    res.onAborted(() => {
      if (!done) finish(499);
    });

    const finish = (status: number) => {
      done = true;
      inFlight--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      opts.metrics.httpDuration.observe({ method: ctx.method, route: routeName, status: String(status) }, seconds);
      ctx.log.debug({ method: ctx.method, route: routeName, status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    };

    const send = (reply: Reply) => {
      if (done) return;
      res.cork(() => {
        res.writeStatus(`${reply.status} ${STATUS_CODES[reply.status] ?? ''}`);
        res.writeHeader('x-request-id', requestId);
        for (const [k, v] of Object.entries(CORS_HEADERS)) res.writeHeader(k, v);
        for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
        if (reply.json !== undefined) {
          res.writeHeader('content-type', 'application/json; charset=utf-8');
          res.end(JSON.stringify(reply.json));
        } else {
          res.writeHeader('content-type', reply.contentType ?? 'text/plain; charset=utf-8');
          res.end(reply.text ?? '');
        }
      });
      finish(reply.status);
    };

    const fail = (err: unknown) => {
      if (err instanceof AppError) {
        return send({ status: err.status, json: errorBody(err, requestId), headers: err.headers });
      }
      ctx.log.error({ err }, 'unhandled error');
      send({
        status: 500,
        json: errorBody(new AppError('INTERNAL_ERROR', 'Internal error'), requestId),
      });
    };

    const run = () => {
      try {
        Promise.resolve(handler(ctx)).then(send, fail);
      } catch (err) {
        fail(err);
      }
    };

    const declared = Number(headers['content-length'] ?? '0');
    if (declared > opts.maxBodyBytes) {
      return fail(new AppError('PAYLOAD_TOO_LARGE', `Body larger than ${opts.maxBodyBytes} bytes`));
    }
    if (ctx.method === 'GET' || (declared === 0 && headers['transfer-encoding'] === undefined)) return run();

    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > opts.maxBodyBytes) {
        return fail(new AppError('PAYLOAD_TOO_LARGE', `Body larger than ${opts.maxBodyBytes} bytes`));
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
      if (isLast) {
        ctx.rawBody = Buffer.concat(chunks);
        run();
      }
    });
  }

  return {
    inFlight: () => inFlight,
    /** What is mounted, without handlers (the OpenAPI test compares it with docs/openapi.yaml). */
    routes: routes.map(({ method, pattern }): MountedRoute => ({ method, pattern })),
  };
}
