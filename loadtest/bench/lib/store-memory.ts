/**
 * Store memory per waiting visitor, measured two ways around a fill of one fresh queue:
 * Redis' INFO used_memory before and after (what the server really allocated, allocator rounding
 * included), and the sum of MEMORY USAGE over the queue's keys (attributable to this queue only).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { queueKeys } from '../../../server/src/store/keys.js';
import { memoryUsageOf, queueKeyPattern, scanKeys, usedMemory } from './redis-inspect.js';

export interface StoreMemory<T> {
  fill: T;
  /** Visitors waiting in the queue after the fill (ZCARD of its waiting set). */
  visitors: number;
  usedMemoryBytesPerVisitor: number;
  memoryUsageBytesPerVisitor: number;
  keys: number;
  /** MEMORY USAGE per visitor by kind of key (`wait`, `hb` for all heartbeat shards, …). */
  memoryUsageBytesPerVisitorByKind: Record<string, number>;
  /**
   * Keys that appeared or vanished elsewhere in this Redis during the fill. Non-zero means another
   * client wrote meanwhile, and the used_memory delta includes its data.
   */
  foreignKeys: number;
}

/** `wr:{q}:wait` -> `wait`, `wr:{q}:hb:1a` -> `hb`. */
export function keyKind(key: string): string {
  return key.slice(key.indexOf('}:') + 2).split(':')[0] ?? key;
}

export async function measureStoreMemory<T>(redis: Redis, queueId: string, fill: () => Promise<T>): Promise<StoreMemory<T>> {
  const pattern = queueKeyPattern(queueId);
  await sleep(1_000); // let Redis shrink client buffers grown by earlier load (clientsCron)
  const keysBefore = (await scanKeys(redis, pattern)).length;
  const dbsizeBefore = await redis.dbsize();
  const before = await usedMemory(redis);

  const filled = await fill();

  await sleep(1_500);
  const after = await usedMemory(redis);
  const dbsizeAfter = await redis.dbsize();
  const visitors = await redis.zcard(queueKeys(queueId).wait);
  const keys = await scanKeys(redis, pattern);
  const sizes = await memoryUsageOf(redis, keys);
  const byKind: Record<string, number> = {};
  let keyBytes = 0;
  for (const [key, bytes] of sizes) {
    keyBytes += bytes;
    const kind = keyKind(key);
    byKind[kind] = (byKind[kind] ?? 0) + bytes / visitors;
  }
  return {
    fill: filled,
    visitors,
    usedMemoryBytesPerVisitor: (after - before) / visitors,
    memoryUsageBytesPerVisitor: keyBytes / visitors,
    keys: keys.length,
    memoryUsageBytesPerVisitorByKind: byKind,
    foreignKeys: dbsizeAfter - dbsizeBefore - (keys.length - keysBefore),
  };
}
