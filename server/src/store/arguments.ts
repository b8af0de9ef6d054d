/**
 * Argument checks both stores share, so a bad call fails the same way on either (and before a
 * Redis round-trip). They guard programming errors; user input is validated at the edge.
 */
import { LOTTERY_MODULUS } from '../domain/admission.js';
import { MAX_LANE } from '../domain/queue.js';
import { DRAW_SPAN } from '../domain/schedule.js';

export function assertLane(lane: number): void {
  if (!Number.isInteger(lane) || lane < 0 || lane > MAX_LANE) throw new RangeError(`invalid lane: ${lane}`);
}

export function assertMaxBatch(maxBatch: number): void {
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 0) throw new RangeError(`invalid max batch: ${maxBatch}`);
}

/** A node number from registerNode (the holder of positions and of a lease). */
export function assertHolder(holder: number): void {
  if (!Number.isSafeInteger(holder) || holder < 1) throw new RangeError(`invalid holder: ${holder}`);
}

export function assertLeaseTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new RangeError(`invalid lease ttl: ${ttlMs}`);
}

/**
 * Most ids one ranks() call reads. One script call reads them all, so every rank is of the same
 * version (chunks would each see another version). It blocks the queue's shard meanwhile:
 * measured on Redis 7, ~0.9 µs per id, so ~45 ms for the full 50,000 (~9 ms for 10,000).
 */
export const MAX_RANK_IDS = 50_000;

export function assertRankIds(positionIds: readonly string[]): void {
  if (positionIds.length > MAX_RANK_IDS) {
    throw new RangeError(`ranks takes at most ${MAX_RANK_IDS} ids, got ${positionIds.length}`);
  }
}

export function assertDrawKey(key: number): void {
  if (!Number.isSafeInteger(key) || key < 0 || key >= DRAW_SPAN) throw new RangeError(`invalid draw key: ${key}`);
}

export function assertLotterySeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 1 || seed >= LOTTERY_MODULUS) throw new RangeError(`invalid lottery seed: ${seed}`);
}

/** An IP key is stored as a hash field beside comma-separated ids: no commas, and short. */
export function assertIpLimit(limit: { key: string; max: number } | undefined): void {
  if (limit === undefined) return;
  if (!/^[^,\s]{1,64}$/.test(limit.key)) throw new RangeError(`invalid IP key: ${JSON.stringify(limit.key)}`);
  if (!Number.isSafeInteger(limit.max) || limit.max < 1) throw new RangeError(`invalid IP limit: ${limit.max}`);
}

/** History buckets and retention: whole milliseconds, a bucket at least 100 ms. */
export function assertHistoryWindow(bucketMs: number, retainMs: number, sockets: number): void {
  if (!Number.isSafeInteger(bucketMs) || bucketMs < 100) throw new RangeError(`invalid history bucket: ${bucketMs}`);
  if (!Number.isSafeInteger(retainMs) || retainMs < bucketMs) throw new RangeError(`invalid history retention: ${retainMs}`);
  if (!Number.isSafeInteger(sockets) || sockets < 0) throw new RangeError(`invalid socket count: ${sockets}`);
}
