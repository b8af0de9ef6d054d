import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import { estimateWaitSeconds, measuredRatePerMinute } from '../../domain/admission.js';
import { AppError, forbidden, notFound, unauthorized } from '../../domain/errors.js';
import { MAX_LANE, isValidQueueId } from '../../domain/queue.js';
import type { QueueDirectory } from '../../services/queues.js';
import { createQueueSchema, publicQueueView, queueSettingsSchema } from '../../services/queues.js';
import { drawKey, effectiveMode, eventPhase } from '../../domain/schedule.js';
import type { SessionService } from '../../services/sessions.js';
import type { QueueStore } from '../../store/types.js';
import type { TokenService } from '../../tokens/tokens.js';
import { parseBody } from '../body.js';
import type { RequestContext, Route } from '../router.js';
import { pathParam } from './visitor.js';

const grantBody = z
  .object({
    lane: z.number().int().min(1).max(MAX_LANE),
    ttl_seconds: z.number().int().min(60).max(30 * 86_400).optional(),
  })
  .strict();

/** Compares against the configured key in constant time; undefined key = admin API off. */
export function createAdminCheck(adminApiKey: string | undefined) {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = adminApiKey === undefined ? undefined : digest(adminApiKey);
  const matchesKey = (given: string | undefined) =>
    expected !== undefined && given !== undefined && timingSafeEqual(digest(given), expected);
  const matches = (ctx: RequestContext) => matchesKey(ctx.headers['x-admin-key']);
  return {
    /** Is the admin API on at all (ADMIN_API_KEY set)? */
    enabled: expected !== undefined,
    matches,
    /** The same check for a key that did not come in a header (the dashboard's socket). */
    matchesKey,
    require(ctx: RequestContext) {
      if (expected === undefined) throw forbidden('The admin API is disabled: set ADMIN_API_KEY to enable it');
      if (ctx.headers['x-admin-key'] === undefined) throw unauthorized('Missing X-Admin-Key header');
      if (!matches(ctx)) throw unauthorized('Invalid admin key');
    },
  };
}

export interface AdminRouteDeps {
  admin: ReturnType<typeof createAdminCheck>;
  queues: QueueDirectory;
  sessions: SessionService;
  store: QueueStore;
  tokens: TokenService;
  onQueueCreated: (queueId: string) => void;
}

/** Queue configuration, statistics, session revocation and priority grants, behind X-Admin-Key. */
export function adminRoutes(d: AdminRouteDeps): Route[] {
  const guarded =
    (fn: (ctx: RequestContext) => Promise<{ status: number; json: unknown }>) => async (ctx: RequestContext) => {
      d.admin.require(ctx);
      return fn(ctx);
    };
  const queueId = (ctx: RequestContext) => {
    const id = pathParam(ctx, 'queue_id');
    if (!isValidQueueId(id)) throw new AppError('INVALID_REQUEST', 'Invalid queue id: must match ^[a-z0-9][a-z0-9_-]{0,63}$');
    return id;
  };
  const existing = async (id: string) => {
    const config = await d.queues.get(id);
    if (!config) throw notFound(`Queue ${id} does not exist`);
    return config;
  };
  const base = '/api/v1/admin/queues';
  return [
    {
      method: 'POST',
      pattern: base,
      handler: guarded(async (ctx) => {
        const { id, ...settings } = parseBody(ctx, createQueueSchema);
        const config = await d.queues.create(id, settings);
        d.onQueueCreated(id);
        return { status: 201, json: publicQueueView(config, await d.store.now()) };
      }),
    },
    {
      method: 'GET',
      pattern: base,
      handler: guarded(async () => ({ status: 200, json: { queues: (await d.queues.list()).sort() } })),
    },
    {
      method: 'GET',
      pattern: `${base}/:queue_id`,
      handler: guarded(async (ctx) => ({
        status: 200,
        json: publicQueueView(await existing(queueId(ctx)), await d.store.now()),
      })),
    },
    {
      method: 'PATCH',
      pattern: `${base}/:queue_id`,
      handler: guarded(async (ctx) => {
        const id = queueId(ctx);
        const patch = parseBody(ctx, queueSettingsSchema);
        if (Object.keys(patch).length === 0) throw new AppError('INVALID_REQUEST', 'The patch changes nothing');
        return { status: 200, json: publicQueueView(await d.queues.update(id, patch), await d.store.now()) };
      }),
    },
    {
      // The audit of a shuffled pre-queue (docs/QUEUE_MANAGEMENT.md): the seed's commitment, the
      // drawn arrivals, and once the sale started the seed and the order it gives.
      method: 'GET',
      pattern: `${base}/:queue_id/draw`,
      handler: guarded(async (ctx) => {
        // Fresh from the store, not the node's one-second config cache: the seed must be current.
        const config = await d.store.getQueue(queueId(ctx));
        if (!config) throw notFound(`Queue ${queueId(ctx)} does not exist`);
        const event = config.event;
        if (!event?.shuffle_prequeue) throw notFound(`Queue ${config.id} has no scheduled event with a shuffled pre-queue`);
        const now = await d.store.now();
        const revealed = eventPhase(config, now) === 'live' || eventPhase(config, now) === 'after';
        const entries = (await d.store.drawEntries(config.id)).map((entry) => {
          const colon = entry.indexOf(':');
          return { lane: Number(entry.slice(0, colon)), position_id: entry.slice(colon + 1) };
        });
        const order = revealed
          ? entries
              .map((e) => ({ ...e, key: drawKey(event.seed, e.position_id) }))
              .sort((a, b) => b.lane - a.lane || a.key - b.key || (a.position_id < b.position_id ? -1 : 1))
              .map((e) => e.position_id)
          : null;
        return {
          status: 200,
          json: {
            queue_id: config.id,
            starts_at: event.starts_at,
            seed_commitment: event.seed_commitment,
            seed: revealed ? event.seed : null,
            entries,
            order,
          },
        };
      }),
    },
    {
      method: 'GET',
      pattern: `${base}/:queue_id/stats`,
      handler: guarded(async (ctx) => {
        const config = await existing(queueId(ctx));
        const c = await d.store.stats(config.id);
        const mode = effectiveMode(config, c.now);
        const rate = measuredRatePerMinute(c.admittedInWindow, c.oldestAdmissionInWindow, c.now, mode.ratePerMinute);
        return {
          status: 200,
          json: {
            queue_id: config.id,
            status: config.status,
            // What is in force now: a live event's method and limits override the queue's.
            queueing_method: mode.method,
            event_phase: mode.phase,
            queue_length: c.waiting,
            active_sessions: c.active,
            max_active_users: mode.maxActive,
            admission_rate_per_minute: mode.ratePerMinute,
            admitted_last_minute: c.admittedInWindow,
            measured_admission_rate_per_minute: Math.round(rate * 100) / 100,
            estimated_wait_seconds_for_new_visitor: estimateWaitSeconds(c.waiting + 1, rate),
            totals: {
              enqueued: c.totalEnqueued,
              admitted: c.totalAdmitted,
              expired: c.totalExpired,
              cancelled: c.totalCancelled,
              sessions_ended: c.totalSessionsEnded,
            },
            at: new Date(c.now).toISOString(),
          },
        };
      }),
    },
    {
      method: 'POST',
      pattern: `${base}/:queue_id/grants`,
      handler: guarded(async (ctx) => {
        const config = await existing(queueId(ctx));
        const body = parseBody(ctx, grantBody);
        const expiresAt = (await d.store.now()) + (body.ttl_seconds ?? 86_400) * 1000;
        const grant = await d.tokens.signGrant({ queueId: config.id, lane: body.lane, expiresAt });
        return {
          status: 201,
          json: { queue_id: config.id, lane: body.lane, priority_grant: grant, expires_at: new Date(expiresAt).toISOString() },
        };
      }),
    },
    {
      method: 'DELETE',
      pattern: '/api/v1/admin/sessions/:session_id',
      handler: guarded(async (ctx) => ({ status: 200, json: await d.sessions.terminate(pathParam(ctx, 'session_id')) })),
    },
  ];
}
