import { z } from 'zod';
import type { JoinGuard } from '../../abuse/join-guard.js';
import { AppError } from '../../domain/errors.js';
import { MAX_LANE } from '../../domain/queue.js';
import type { PositionService } from '../../services/positions.js';
import type { SessionService } from '../../services/sessions.js';
import { bearerToken, parseBody, requireBearer } from '../body.js';
import type { IpRateLimiter } from '../rate-limit.js';
import type { RequestContext, Route } from '../router.js';

const enqueueBody = z
  .object({
    priority: z.number().int().min(0).max(MAX_LANE).optional(),
    priority_grant: z.string().min(1).max(4096).optional(),
    metadata: z
      .record(z.string().max(64), z.unknown())
      .refine((m) => JSON.stringify(m).length <= 1024, 'must be at most 1 KB of JSON')
      .optional(),
    challenge_solution: z
      .object({ token: z.string().min(1).max(1024), nonce: z.string().min(1).max(64) })
      .strict()
      .optional(),
  })
  .strict();

const heartbeatBody = z.object({ timestamp: z.number().int().nonnegative().optional() }).strict();

export function pathParam(ctx: RequestContext, name: string): string {
  const raw = ctx.params[name] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AppError('INVALID_REQUEST', `Malformed ${name} in the path`);
  }
}

export interface VisitorRouteDeps {
  positions: PositionService;
  sessions: SessionService;
  isAdmin: (ctx: RequestContext) => boolean;
  ipKey: (ctx: RequestContext) => string;
  enqueueLimiter: IpRateLimiter;
  guard: JoinGuard;
  statusLimiter: IpRateLimiter;
}

/** The seed's visitor API: enqueue, status, heartbeat, leave, and admitted sessions (read, renew, release). */
export function visitorRoutes(d: VisitorRouteDeps): Route[] {
  const base = '/api/v1/queues/:queue_id';
  return [
    {
      method: 'POST',
      pattern: `${base}/enqueue`,
      async handler(ctx) {
        const client = { ipKey: d.ipKey(ctx), userAgent: ctx.headers['user-agent'] };
        const limitHeaders = await d.enqueueLimiter.consume(client.ipKey).catch(async (err: unknown) => {
          await d.guard.refused(client);
          throw err;
        });
        const body = parseBody(ctx, enqueueBody);
        const { created, view } = await d.positions.join({
          queueId: pathParam(ctx, 'queue_id'),
          priority: body.priority ?? 0,
          ticket: bearerToken(ctx),
          isAdmin: d.isAdmin(ctx),
          priorityGrant: body.priority_grant,
          metadata: body.metadata,
          client,
          challengeSolution: body.challenge_solution,
        });
        return { status: created ? 201 : 200, json: view, headers: limitHeaders };
      },
    },
    {
      method: 'GET',
      pattern: `${base}/status`,
      async handler(ctx) {
        const limitHeaders = await d.statusLimiter.consume(d.ipKey(ctx));
        const view = await d.positions.status(pathParam(ctx, 'queue_id'), requireBearer(ctx));
        return { status: 200, json: view, headers: limitHeaders };
      },
    },
    {
      method: 'POST',
      pattern: `${base}/heartbeat`,
      async handler(ctx) {
        const limitHeaders = await d.statusLimiter.consume(d.ipKey(ctx));
        const ticket = requireBearer(ctx);
        parseBody(ctx, heartbeatBody);
        const view = await d.positions.heartbeat(pathParam(ctx, 'queue_id'), ticket);
        const next = view.status === 'waiting' ? { next_heartbeat_seconds: view.heartbeat_interval_seconds } : {};
        return { status: 200, json: { ...view, ...next }, headers: limitHeaders };
      },
    },
    {
      method: 'DELETE',
      pattern: `${base}/position`,
      async handler(ctx) {
        return { status: 200, json: await d.positions.leave(pathParam(ctx, 'queue_id'), requireBearer(ctx)) };
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/sessions/:session_id',
      async handler(ctx) {
        return { status: 200, json: await d.sessions.get(pathParam(ctx, 'session_id'), requireBearer(ctx)) };
      },
    },
    {
      method: 'DELETE',
      pattern: '/api/v1/sessions/:session_id',
      async handler(ctx) {
        return { status: 200, json: await d.sessions.release(pathParam(ctx, 'session_id'), requireBearer(ctx)) };
      },
    },
    {
      method: 'POST',
      pattern: '/api/v1/sessions/:session_id/activity',
      async handler(ctx) {
        return { status: 200, json: await d.sessions.touch(pathParam(ctx, 'session_id'), requireBearer(ctx)) };
      },
    },
  ];
}
