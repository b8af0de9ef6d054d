import { z } from 'zod';
import { AppError, notFound } from '../domain/errors.js';
import {
  QUEUE_STATUSES,
  defaultQueueSettings,
  isValidQueueId,
  type QueueConfig,
  type QueueSettings,
} from '../domain/queue.js';
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
  })
  .partial()
  .strict();

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
    if (
      settings.heartbeat_interval_seconds !== undefined &&
      settings.heartbeat_timeout_seconds !== undefined &&
      settings.heartbeat_interval_seconds >= settings.heartbeat_timeout_seconds
    ) {
      throw new AppError('INVALID_REQUEST', 'heartbeat_interval_seconds must be below heartbeat_timeout_seconds');
    }
  }

  async function create(id: string, settings: Partial<QueueSettings>): Promise<QueueConfig> {
    const now = new Date(await store.now()).toISOString();
    const config: QueueConfig = {
      ...defaultQueueSettings(id, opts.defaultTargetUrl),
      ...settings,
      id,
      created_at: now,
      updated_at: now,
    };
    assertConsistent(config);
    if (!(await store.createQueue(config))) throw new AppError('CONFLICT', `Queue ${id} already exists`);
    cache.set(id, { config, at: Date.now() });
    publish('queue.created', id, { config });
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
    async update(id: string, patch: Partial<QueueSettings>): Promise<QueueConfig> {
      const before = await store.getQueue(id);
      if (!before) throw notFound(`Queue ${id} does not exist`);
      assertConsistent({ ...before, ...patch });
      const updated = await store.updateQueue(id, patch, new Date(await store.now()).toISOString());
      if (!updated) throw notFound(`Queue ${id} does not exist`);
      cache.set(id, { config: updated, at: Date.now() });
      publish('queue.updated', id, { changes: patch });
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
