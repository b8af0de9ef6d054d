/**
 * Every store key name, built in this one module. Each per-queue key carries the hash tag
 * `{queueId}` so a whole queue lives on one DragonFly/Redis-cluster shard and a Lua script can
 * touch all of its keys (DESIGN §5). `wr:queues` and `wr:nodes:seq` are global and never passed to
 * a script together with per-queue keys: it would be cross-slot.
 */
import { POSITION_ID_PATTERN, isValidQueueId } from '../domain/queue.js';

export const KEY_PREFIX = 'wr:';

/** The set of every queue id. */
export const QUEUES_KEY = `${KEY_PREFIX}queues`;

/** counter: node numbers handed out by registerNode (global, like QUEUES_KEY). */
export const NODE_SEQ_KEY = `${KEY_PREFIX}nodes:seq`;

/**
 * Position ids are handed out in blocks of this size, and the heartbeat deadlines of one block
 * share one small hash: small hashes stay listpack-encoded (~9 bytes per visitor), which keeps
 * the per-visitor store memory inside DESIGN §5's budget where a second sorted set would not.
 */
export const HEARTBEAT_SHARD_SIZE = 128;

export interface QueueKeys {
  /** hash: the QueueConfig fields, numbers as decimal strings */
  cfg: string;
  /** zset: waiting position id -> (3 - lane) * 1e12 + seq */
  wait: string;
  /** counter: enqueue order */
  seq: string;
  /** counter: position-id blocks reserved so far (also the highest heartbeat shard index) */
  ids: string;
  /** zset: admitted position id -> session expiry (ms) */
  active: string;
  /** zset: admitted position id -> admission time (ms), trimmed to the last 60 s */
  admlog: string;
  /** hash: tokens, ts — the admission token bucket */
  bucket: string;
  /** hash: enqueued, admitted, expired, cancelled, sessions_ended */
  stats: string;
  /** hash: cursor, low — where the heartbeat sweeper goes next */
  sweep: string;
  /** counter: the wait set's version, +1 per change (enqueue, leave, admission step, sweep step) */
  ver: string;
  /** hash: node number -> lease expiry (ms) of the nodes holding sockets of this queue */
  nodes: string;
  /** list: 'lane:id' of each drawn pre-queue arrival of the current event, for the audit */
  draw: string;
  /** zset: bucket start (ms) -> one dashboard history sample (record-history-5.lua) */
  hist: string;
}

/** Throws on an id that could break the key layout; the HTTP layer validates ids before this. */
export function assertQueueId(queueId: string): void {
  if (!isValidQueueId(queueId)) throw new RangeError(`invalid queue id: ${JSON.stringify(queueId)}`);
}

export function queueKeys(queueId: string): QueueKeys {
  assertQueueId(queueId);
  const base = `${KEY_PREFIX}{${queueId}}:`;
  return {
    cfg: `${base}cfg`,
    wait: `${base}wait`,
    seq: `${base}seq`,
    ids: `${base}ids`,
    active: `${base}active`,
    admlog: `${base}admlog`,
    bucket: `${base}bucket`,
    stats: `${base}stats`,
    sweep: `${base}sweep`,
    ver: `${base}ver`,
    nodes: `${base}nodes`,
    draw: `${base}draw`,
    hist: `${base}hist`,
  };
}

/**
 * hash: position id -> heartbeat deadline (unix seconds, >= 0) of the ids of one block, or
 * `-n` while node n's open socket holds the position (a holder marker).
 */
export function heartbeatShardKey(queueId: string, shard: number): string {
  assertQueueId(queueId);
  return `${KEY_PREFIX}{${queueId}}:hb:${shard.toString(36)}`;
}

/**
 * The heartbeat shard (= id block) of a position id. Throws on an id the store never hands out,
 * so a malformed id can never address a shard.
 */
export function heartbeatShardOf(positionId: string): number {
  const n = POSITION_ID_PATTERN.test(positionId) ? parseInt(positionId, 36) : NaN;
  if (!Number.isSafeInteger(n)) throw new RangeError(`invalid position id: ${JSON.stringify(positionId)}`);
  return Math.floor(n / HEARTBEAT_SHARD_SIZE);
}

/** The position ids of block `block`, in base 36. */
export function positionIdsOfBlock(block: number): string[] {
  const ids: string[] = [];
  for (let n = block * HEARTBEAT_SHARD_SIZE; n < (block + 1) * HEARTBEAT_SHARD_SIZE; n++) ids.push(n.toString(36));
  return ids;
}

/**
 * Per-IP concurrent positions (IpLimit in types.ts): the waiting position ids of each client IP
 * key live in one of this many small hashes per queue, picked by a hash of the IP key. Small
 * hashes stay listpack-encoded (up to 128 fields) while a queue holds up to ~400,000 distinct
 * addresses, so an address costs ~30 bytes instead of the ~70 of one big hash table.
 */
export const IP_LIMIT_BUCKETS = 4096;

/** The bucket of an IP key: FNV-1a, so every node and both stores agree without a library. */
export function ipLimitBucketOf(ipKey: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ipKey.length; i++) {
    h ^= ipKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % IP_LIMIT_BUCKETS;
}

/** hash: IP key -> comma-separated ids of that address's positions (a superset of those still waiting). */
export function ipLimitBucketKey(queueId: string, bucket: number): string {
  assertQueueId(queueId);
  return `${KEY_PREFIX}{${queueId}}:ip:${bucket.toString(36)}`;
}

/** Buckets one pruneIpLimits step visits, and the steps of a whole cycle. */
export const IP_LIMIT_BUCKETS_PER_PRUNE_STEP = 64;
export const IP_LIMIT_PRUNE_STEPS = IP_LIMIT_BUCKETS / IP_LIMIT_BUCKETS_PER_PRUNE_STEP;
