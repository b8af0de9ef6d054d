/**
 * What the benchmarks read from and clean up in the store, outside the product's own code:
 * INFO fields, the keys of one queue, their memory, and their removal.
 */
import type { Redis } from 'ioredis';
import { KEY_PREFIX, QUEUES_KEY, assertQueueId } from '../../../server/src/store/keys.js';

/** One field of `INFO <section>` (e.g. used_memory of `memory`). */
export async function infoField(redis: Redis, section: string, field: string): Promise<string> {
  const info = await redis.info(section);
  const line = info.split('\r\n').find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`INFO ${section} has no ${field}`);
  return line.slice(field.length + 1);
}

export async function usedMemory(redis: Redis): Promise<number> {
  return Number(await infoField(redis, 'memory', 'used_memory'));
}

/** The SCAN pattern of every key of one queue (keys.ts: `wr:{<queue>}:...`). */
export function queueKeyPattern(queueId: string): string {
  assertQueueId(queueId); // queue ids hold no glob characters, so the id matches literally
  return `${KEY_PREFIX}{${queueId}}:*`;
}

export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(keys)]; // SCAN may return a key twice
}

/**
 * MEMORY USAGE of each key (0 for a key that vanished meanwhile). SAMPLES 0 measures every
 * element of a collection instead of extrapolating from 5, so a 100,000-member sorted set is
 * measured, not estimated.
 */
export async function memoryUsageOf(redis: Redis, keys: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    const replies = (await pipeline.exec()) ?? [];
    batch.forEach((key, j) => {
      const [err, bytes] = replies[j] ?? [new Error('no reply'), null];
      if (err) throw err;
      sizes.set(key, typeof bytes === 'number' ? bytes : 0);
    });
  }
  return sizes;
}

/** Removes every key of a queue and its entry in the queue list; returns the keys removed. */
export async function deleteQueue(redis: Redis, queueId: string): Promise<number> {
  const keys = await scanKeys(redis, queueKeyPattern(queueId));
  let removed = 0;
  for (let i = 0; i < keys.length; i += 500) removed += await redis.unlink(...keys.slice(i, i + 500));
  await redis.srem(QUEUES_KEY, queueId);
  return removed;
}
