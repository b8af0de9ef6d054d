import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError, notFound } from '../domain/errors.js';
import {
  MAX_LANE,
  QUEUEING_METHODS,
  QUEUE_STATUSES,
  defaultQueueSettings,
  isValidQueueId,
  type QueueConfig,
  type QueueEvent,
  type QueueSettings,
} from '../domain/queue.js';
import { eventPhase } from '../domain/schedule.js';
import type { Publish } from '../events/publisher.js';
import type { QueueStore } from '../store/types.js';

const CACHE_MS = 1_000;

const url = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

const isoTime = z.string().datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2030-05-01T18:00:00Z' });
const laneWeight = z.number().int().min(1).max(1_000);

/** A scheduled event as the operator sets it; the seed and its commitment are made here. */
const eventSchema = z
  .object({
    prequeue_starts_at: isoTime,
    starts_at: isoTime,
    ends_at: isoTime,
    queueing_method: z.enum(QUEUEING_METHODS).nullable().optional(),
    admission_rate_per_minute: z.number().int().min(1).max(1_000_000).nullable().optional(),
    max_active_users: z.number().int().min(1).max(10_000_000).nullable().optional(),
    shuffle_prequeue: z.boolean().optional(),
  })
  .strict()
  .refine((e) => Date.parse(e.prequeue_starts_at) <= Date.parse(e.starts_at), {
    message: 'prequeue_starts_at must not be after starts_at',
  })
  .refine((e) => Date.parse(e.starts_at) < Date.parse(e.ends_at), { message: 'ends_at must be after starts_at' });

export type EventInput = z.infer<typeof eventSchema>;

/** Operator-settable fields; one schema for create (all optional but id) and patch. */
export const queueSettingsSchema = z
  .object({
    name: z.string().min(1).max(200),
    target_url: url,
    max_active_users: z.number().int().min(1).max(10_000_000),
    max_queue_size: z.number().int().min(1).max(100_000_000),
    admission_rate_per_minute: z.number().int().min(1).max(1_000_000),
    session_duration_seconds: z.number().int().min(1).max(86_400 * 7),
    heartbeat_interval_seconds: z.number().int().min(1).max(3_600),
    heartbeat_timeout_seconds: z.number().int().min(1).max(86_400),
    session_renewal: z.boolean(),
    status: z.enum(QUEUE_STATUSES),
    queueing_method: z.enum(QUEUEING_METHODS),
    queue_only_when_needed: z.boolean(),
    lane_weights: z.tuple([laneWeight, laneWeight, laneWeight, laneWeight]).nullable(),
    lane0_min_share: z.number().min(0).max(0.9),
    event: eventSchema.nullable(),
  })
  .partial()
  .strict();

export type SettingsInput = z.infer<typeof queueSettingsSchema>;

/**
 * What the admin API and events may show of a config: the event's seed stays secret until the
 * sale starts (only its commitment is shown before), so nobody can compute the draw early.
 */
export function publicQueueView(config: QueueConfig, now: number): QueueConfig {
  const e = config.event;
  if (!e) return config;
  const revealed = eventPhase(config, now) === 'live' || eventPhase(config, now) === 'after';
  return { ...config, event: { ...e, seed: revealed ? e.seed : '' } };
}

/** An operator's event, with a fresh seed — or the current one while the same draw goes on. */
function eventFrom(input: EventInput, current: QueueEvent | null): QueueEvent {
  const shuffle = input.shuffle_prequeue ?? true;
  const sameDraw =
    current !== null &&
    current.shuffle_prequeue === shuffle &&
    Date.parse(current.prequeue_starts_at) === Date.parse(input.prequeue_starts_at) &&
    Date.parse(current.starts_at) === Date.parse(input.starts_at);
  const seed = sameDraw ? current.seed : randomBytes(32).toString('hex');
  return {
    prequeue_starts_at: new Date(input.prequeue_starts_at).toISOString(),
    starts_at: new Date(input.starts_at).toISOString(),
    ends_at: new Date(input.ends_at).toISOString(),
    queueing_method: input.queueing_method ?? null,
    admission_rate_per_minute: input.admission_rate_per_minute ?? null,
    max_active_users: input.max_active_users ?? null,
    shuffle_prequeue: shuffle,
    seed,
    seed_commitment: createHash('sha256').update(seed).digest('hex'),
  };
}

/** Settings as the store keeps them: the event input turned into an event with its seed. */
function toSettings(input: SettingsInput, current: QueueEvent | null): Partial<QueueSettings> {
  const { event, ...rest } = input;
  if (event === undefined) return rest;
  return { ...rest, event: event === null ? null : eventFrom(event, current) };
}

export const createQueueSchema = queueSettingsSchema.extend({
  id: z.string().refine(isValidQueueId, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$'),
});

export interface QueueDirectoryOptions {
  store: QueueStore;
  publish: Publish;
  autoCreate: boolean;
  maxAutoCreated: number;
  defaultTargetUrl: string;
}

/** Queue configs: created, patched, read (cached for a second per node), auto-created on demand. */
export function createQueueDirectory(opts: QueueDirectoryOptions) {
  const { store, publish } = opts;
  const cache = new Map<string, { config: QueueConfig; at: number }>();

  function assertConsistent(settings: Partial<QueueSettings>) {
    if ((settings.lane0_min_share ?? 0) > 0 && !settings.lane_weights) {
      throw new AppError('INVALID_REQUEST', 'lane0_min_share needs lane_weights (strict priority has no shares)');
    }
    if (settings.lane_weights && settings.lane_weights.length !== MAX_LANE + 1) {
      throw new AppError('INVALID_REQUEST', `lane_weights needs one weight per lane 0..${MAX_LANE}`);
    }
    if (
      settings.heartbeat_interval_seconds !== undefined &&
      settings.heartbeat_timeout_seconds !== undefined &&
      settings.heartbeat_interval_seconds >= settings.heartbeat_timeout_seconds
    ) {
      throw new AppError('INVALID_REQUEST', 'heartbeat_interval_seconds must be below heartbeat_timeout_seconds');
    }
  }

  async function create(id: string, input: SettingsInput): Promise<QueueConfig> {
    const storeNow = await store.now();
    const now = new Date(storeNow).toISOString();
    const config: QueueConfig = {
      ...defaultQueueSettings(id, opts.defaultTargetUrl),
      ...toSettings(input, null),
      id,
      created_at: now,
      updated_at: now,
    };
    assertConsistent(config);
    if (!(await store.createQueue(config))) throw new AppError('CONFLICT', `Queue ${id} already exists`);
    cache.set(id, { config, at: Date.now() });
    publish('queue.created', id, { config: publicQueueView(config, storeNow) });
    return config;
  }

  async function get(id: string): Promise<QueueConfig | null> {
    const hit = cache.get(id);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.config;
    const config = await store.getQueue(id);
    if (config) cache.set(id, { config, at: Date.now() });
    else cache.delete(id);
    return config;
  }

  return {
    create,
    get,
    /** The queue a visitor asked for, created with the defaults when allowed (bounded in number). */
    async resolve(id: string): Promise<QueueConfig> {
      if (!isValidQueueId(id)) {
        throw new AppError('INVALID_REQUEST', 'Invalid queue id: must match ^[a-z0-9][a-z0-9_-]{0,63}$', {
          queue_id: id.slice(0, 80),
        });
      }
      const existing = await get(id);
      if (existing) return existing;
      if (!opts.autoCreate) throw notFound(`Queue ${id} does not exist`);
      if ((await store.listQueues()).length >= opts.maxAutoCreated) {
        throw notFound(`Queue ${id} does not exist (the limit of automatically created queues is reached)`);
      }
      try {
        return await create(id, {});
      } catch (err) {
        // Another node created it a moment ago.
        if (err instanceof AppError && err.code === 'CONFLICT') return (await get(id)) ?? Promise.reject(err);
        throw err;
      }
    },
    async update(id: string, input: SettingsInput): Promise<QueueConfig> {
      const before = await store.getQueue(id);
      if (!before) throw notFound(`Queue ${id} does not exist`);
      const patch = toSettings(input, before.event);
      assertConsistent({ ...before, ...patch });
      const updated = await store.updateQueue(id, patch, new Date(await store.now()).toISOString());
      if (!updated) throw notFound(`Queue ${id} does not exist`);
      cache.set(id, { config: updated, at: Date.now() });
      // The input, not the patch: the patch carries the event's secret seed.
      publish('queue.updated', id, { changes: input });
      if (before.status !== updated.status) {
        if (updated.status === 'paused') publish('queue.paused', id, {});
        if (before.status === 'paused' && updated.status === 'active') publish('queue.resumed', id, {});
      }
      return updated;
    },
    list: () => store.listQueues(),
  };
}

export type QueueDirectory = ReturnType<typeof createQueueDirectory>;
