/**
 * The Redis / DragonFly QueueStore. Every change that must be atomic is one Lua script
 * (scripts/*.lua, one method each); reads that need no atomicity are plain commands. Times come
 * from the store's TIME inside the scripts, never from this node.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { QueueConfig, QueueSettings } from '../domain/queue.js';
import { lotterySeed } from '../domain/admission.js';
import {
  assertDrawKey,
  assertHistoryWindow,
  assertHolder,
  assertIpLimit,
  assertLane,
  assertLeaseTtl,
  assertLotterySeed,
  assertMaxBatch,
  assertRankIds,
} from './arguments.js';
import {
  NODE_SEQ_KEY,
  QUEUES_KEY,
  heartbeatShardKey,
  heartbeatShardOf,
  IP_LIMIT_BUCKETS_PER_PRUNE_STEP,
  IP_LIMIT_PRUNE_STEPS,
  ipLimitBucketKey,
  ipLimitBucketOf,
  positionIdsOfBlock,
  queueKeys,
} from './keys.js';
import {
  asArray,
  asNullableNumber,
  asNumber,
  asStrings,
  configToHashArgs,
  hashToConfig,
  parseCounts,
  parseExpired,
  parseHistorySample,
  parsePositionState,
  parseWaitingFacts,
  StoreReplyError,
} from './replies.js';
import { registerScripts } from './scripts.js';
import { planSweep } from './sweep-plan.js';
import type {
  AdmitResult,
  EnqueueResult,
  QueueStore,
  RankSnapshot,
  SessionState,
  SessionTouch,
  SweepResult,
} from './types.js';

export interface RedisQueueStoreOptions {
  /** Used only when the store opens its own connection from a URL. */
  redisOptions?: RedisOptions;
}

/**
 * A store on an existing connection (left open by close()) or on a new one opened from `url`
 * (closed by close()).
 */
export function createRedisQueueStore(redis: Redis | string, opts: RedisQueueStoreOptions = {}): QueueStore {
  const ownsConnection = typeof redis === 'string';
  const client = typeof redis === 'string' ? new Redis(redis, opts.redisOptions ?? {}) : redis;
  const scripts = registerScripts(client);

  async function storeNow(): Promise<number> {
    const [sec, usec] = await client.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }

  return {
    now: storeNow,

    async createQueue(config: QueueConfig) {
      const k = queueKeys(config.id);
      const created = asNumber(await scripts.createQueue([k.cfg], configToHashArgs(config)), 'createQueue') === 1;
      // A separate command (wr:queues is in another slot). Added even when the queue existed,
      // so a crash between the two steps is repaired by the next create attempt.
      await client.sadd(QUEUES_KEY, config.id);
      return created;
    },

    async getQueue(queueId) {
      return hashToConfig(await client.hgetall(queueKeys(queueId).cfg));
    },

    async updateQueue(queueId: string, patch: Partial<QueueSettings>, updatedAt: string) {
      const k = queueKeys(queueId);
      // The draw list belongs to one seed: a patch that brings another seed (or none) empties it.
      const seed = patch.event === undefined ? '0' : (patch.event?.seed ?? 'none');
      const reply = await scripts.updateQueue([k.cfg, k.draw], [seed, ...configToHashArgs({ ...patch, updated_at: updatedAt })]);
      return reply === null ? null : hashToConfig(reply);
    },

    listQueues: () => client.smembers(QUEUES_KEY),

    async reservePositionIds(queueId) {
      return positionIdsOfBlock(await client.incr(queueKeys(queueId).ids));
    },

    async enqueue(queueId, positionId, lane, holder, ipLimit, drawKey): Promise<EnqueueResult> {
      assertLane(lane);
      if (holder !== undefined) assertHolder(holder);
      assertIpLimit(ipLimit);
      if (drawKey !== undefined) assertDrawKey(drawKey);
      const k = queueKeys(queueId);
      const shard = heartbeatShardOf(positionId);
      const ipBucket = ipLimitBucketKey(queueId, ipLimit ? ipLimitBucketOf(ipLimit.key) : 0);
      const raw = await scripts.enqueue(
        [
          k.cfg,
          k.wait,
          k.seq,
          heartbeatShardKey(queueId, shard),
          k.stats,
          k.admlog,
          k.sweep,
          k.ver,
          k.active,
          k.bucket,
          k.draw,
          ipBucket,
        ],
        [positionId, lane, shard, holder ?? 0, ipLimit?.key ?? '', ipLimit?.max ?? 0, drawKey ?? -1],
      );
      const reply = asArray(raw, 'enqueue');
      switch (reply[0]) {
        case 'waiting':
          return { kind: 'queued', ...parseWaitingFacts(reply, 'enqueue') };
        case 'admitted':
          return { kind: 'admitted', sessionExpiresAt: asNumber(reply[1], 'enqueue'), now: asNumber(reply[2], 'enqueue') };
        case 'ip_limit':
          return { kind: 'ip_limit', waiting: asNumber(reply[1], 'enqueue') };
        case 'rejected':
        case 'queue_full':
        case 'maintenance':
        case 'no_queue':
          return { kind: reply[0] };
        default:
          throw new StoreReplyError('enqueue', raw);
      }
    },

    async drawEntries(queueId) {
      return client.lrange(queueKeys(queueId).draw, 0, -1);
    },

    async pruneIpLimits(queueId, step) {
      const k = queueKeys(queueId);
      const first = (Math.abs(Math.trunc(step)) % IP_LIMIT_PRUNE_STEPS) * IP_LIMIT_BUCKETS_PER_PRUNE_STEP;
      const buckets = Array.from({ length: IP_LIMIT_BUCKETS_PER_PRUNE_STEP }, (_, i) => ipLimitBucketKey(queueId, first + i));
      return asNumber(await scripts.pruneIpLimits([k.wait, ...buckets], []), 'pruneIpLimits');
    },

    async getPosition(queueId, positionId) {
      const k = queueKeys(queueId);
      const shardKey = heartbeatShardKey(queueId, heartbeatShardOf(positionId));
      const raw = await scripts.getPosition([k.wait, k.active, k.admlog, k.ver, shardKey], [positionId]);
      const state = parsePositionState(raw, 'getPosition');
      if (state.state !== 'waiting') return state;
      const heartbeat = asNullableNumber(asArray(raw, 'getPosition')[8], 'getPosition');
      // A negative value is a node's holder marker: held by an open socket, no deadline.
      return { ...state, deadlineSeconds: heartbeat === null || heartbeat < 0 ? null : heartbeat };
    },

    async heartbeat(queueId, positionId) {
      const k = queueKeys(queueId);
      const shardKey = heartbeatShardKey(queueId, heartbeatShardOf(positionId));
      const raw = await scripts.heartbeat([k.cfg, k.wait, k.active, k.admlog, shardKey, k.ver], [positionId]);
      return parsePositionState(raw, 'heartbeat');
    },

    async leave(queueId, positionId) {
      const k = queueKeys(queueId);
      const shardKey = heartbeatShardKey(queueId, heartbeatShardOf(positionId));
      const raw = await scripts.leave([k.wait, shardKey, k.stats, k.ver], [positionId]);
      if (raw === null) return null;
      const reply = asArray(raw, 'leave');
      return {
        score: asNumber(reply[0], 'leave'),
        version: asNumber(reply[1], 'leave'),
        queueLength: asNumber(reply[2], 'leave'),
      };
    },

    // A plain command: the global counter is in another slot than any queue's keys.
    registerNode: () => client.incr(NODE_SEQ_KEY),

    async attach(queueId, positionId, holder) {
      assertHolder(holder);
      const k = queueKeys(queueId);
      const shardKey = heartbeatShardKey(queueId, heartbeatShardOf(positionId));
      const raw = await scripts.attach([k.wait, k.active, k.admlog, shardKey, k.ver], [positionId, holder]);
      return parsePositionState(raw, 'attach');
    },

    async detach(queueId, positionId, holder) {
      const k = queueKeys(queueId);
      const shardKey = heartbeatShardKey(queueId, heartbeatShardOf(positionId));
      await scripts.detach([k.cfg, k.wait, shardKey], [positionId, holder]);
    },

    async renewNodeLease(queueId, holder, ttlMs) {
      assertHolder(holder);
      assertLeaseTtl(ttlMs);
      await scripts.renewNodeLease([queueKeys(queueId).nodes], [holder, ttlMs]);
    },

    async releaseNode(queueId, holder) {
      assertHolder(holder);
      await scripts.releaseNode([queueKeys(queueId).nodes], [holder]);
    },

    async ranks(queueId, positionIds): Promise<RankSnapshot> {
      assertRankIds(positionIds);
      const k = queueKeys(queueId);
      const reply = asArray(await scripts.ranks([k.wait, k.ver], positionIds), 'ranks');
      return {
        version: asNumber(reply[0], 'ranks'),
        queueLength: asNumber(reply[1], 'ranks'),
        now: asNumber(reply[2], 'ranks'),
        ranks: asArray(reply[3], 'ranks').map((rank) => asNullableNumber(rank, 'ranks')),
      };
    },

    async admit(queueId, maxBatch, seed = lotterySeed()): Promise<AdmitResult> {
      assertMaxBatch(maxBatch);
      assertLotterySeed(seed);
      const k = queueKeys(queueId);
      const raw = await scripts.admit([k.cfg, k.wait, k.active, k.admlog, k.bucket, k.stats, k.ver], [maxBatch, seed]);
      const reply = asArray(raw, 'admit');
      const now = asNumber(reply[0], 'admit');
      const sessionExpiresAt = asNumber(reply[1], 'admit');
      const scores = asArray(reply[6], 'admit');
      return {
        now,
        version: asNumber(reply[4], 'admit'),
        queueLength: asNumber(reply[5], 'admit'),
        admitted: asStrings(reply[2], 'admit').map((positionId, i) => ({
          positionId,
          score: asNumber(scores[i], 'admit'),
          admittedAt: now,
          sessionExpiresAt,
        })),
        endedSessions: asStrings(reply[3], 'admit'),
      };
    },

    async sweep(queueId): Promise<SweepResult> {
      const k = queueKeys(queueId);
      // Planning reads need no atomicity: the script re-checks everything it changes, so a
      // stale plan (another node sweeping at the same time) costs only a repeated visit.
      const [state, ids] = await Promise.all([client.hmget(k.sweep, 'cursor', 'low'), client.get(k.ids)]);
      const high = asNullableNumber(ids, 'sweep ids');
      const shards = planSweep({
        cursor: asNullableNumber(state[0] ?? null, 'sweep cursor'),
        low: asNullableNumber(state[1] ?? null, 'sweep low'),
        high,
      });
      // No shards (no id block reserved yet): the script only reads the clock and the version.
      const raw = await scripts.sweep(
        [k.wait, k.stats, k.sweep, k.cfg, k.nodes, k.ver, ...shards.map((shard) => heartbeatShardKey(queueId, shard))],
        [high ?? 0, ...shards],
      );
      const reply = asArray(raw, 'sweep');
      return {
        now: asNumber(reply[0], 'sweep'),
        version: asNumber(reply[1], 'sweep'),
        queueLength: asNumber(reply[2], 'sweep'),
        expired: parseExpired(reply[3]),
      };
    },

    async getSession(queueId, positionId): Promise<SessionState | null> {
      // One script, one round trip: /verify reads this on every request to the origin.
      const raw = await scripts.getSession([queueKeys(queueId).active], [positionId]);
      if (raw === null) return null;
      const reply = asArray(raw, 'getSession');
      return { positionId, expiresAt: asNumber(reply[0], 'getSession'), now: asNumber(reply[1], 'getSession') };
    },

    async touchSession(queueId, positionId): Promise<SessionTouch | null> {
      const k = queueKeys(queueId);
      const raw = await scripts.touchSession([k.cfg, k.active], [positionId]);
      if (raw === null) return null;
      const reply = asArray(raw, 'touchSession');
      return {
        positionId,
        expiresAt: asNumber(reply[0], 'touchSession'),
        now: asNumber(reply[1], 'touchSession'),
        renewed: asNumber(reply[2], 'touchSession') === 1,
      };
    },

    async endSession(queueId, positionId) {
      const k = queueKeys(queueId);
      return asNumber(await scripts.endSession([k.active, k.stats], [positionId]), 'endSession') === 1;
    },

    async stats(queueId) {
      const k = queueKeys(queueId);
      return parseCounts(await scripts.stats([k.wait, k.active, k.admlog, k.stats, k.ver], []));
    },

    async recordHistory(queueId, bucketMs, retainMs, sockets) {
      assertHistoryWindow(bucketMs, retainMs, sockets);
      const k = queueKeys(queueId);
      const raw = await scripts.recordHistory([k.hist, k.wait, k.active, k.stats, k.cfg], [bucketMs, retainMs, sockets]);
      return asNumber(raw, 'recordHistory') === 1;
    },

    async history(queueId, sinceMs) {
      const members = await client.zrangebyscore(queueKeys(queueId).hist, Math.floor(sinceMs), '+inf');
      return members.map(parseHistorySample);
    },

    async ping() {
      try {
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      if (ownsConnection) await client.quit();
    },
  };
}
