/**
 * The in-process QueueStore of the embedded mode (no DragonFly). Same semantics as the Redis
 * store, held to it by the conformance suite; the admission maths is domain/admission.ts as is.
 * Single-threaded JS makes every method atomic, as a Lua script is on the store.
 */
import {
  RATE_WINDOW_MS,
  admissibleCount,
  bucketCapacity,
  lotteryIndex,
  lotterySeed,
  nextLottery,
  pickLane,
  refillBucket,
  type Bucket,
  type LaneState,
} from '../domain/admission.js';
import { MAX_LANE, type QueueConfig } from '../domain/queue.js';
import { DRAW_SPAN, effectiveMode } from '../domain/schedule.js';
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
import { IP_LIMIT_PRUNE_STEPS, assertQueueId, heartbeatShardOf, positionIdsOfBlock } from './keys.js';
import { createMinHeap, type MinHeap } from './min-heap.js';
import type {
  Admission,
  Departure,
  HistorySample,
  PositionState,
  QueueCounts,
  QueueStore,
  SessionState,
  SweepResult,
  WaitingFacts,
} from './types.js';

/** Sessions ended per admit step at most, as the Redis script (bounded work per tick). */
const MAX_ENDED_PER_STEP = 1000;
/** Node leases lapsed this long ago are dropped by the sweeper, as in the Redis script. */
const STALE_LEASE_MS = 86_400_000;
/** The Redis wait-set score: (3 - lane) * 1e12 + seq, higher lane first, FIFO inside a lane. */
const LANE_SCORE_STRIDE = 1e12;

export interface MemoryQueueStoreOptions {
  /** Milliseconds since the epoch; injectable so tests can move time. */
  clock?: () => number;
}

interface Waiting {
  lane: number;
  /** Order inside the lane: seq, or drawKey - DRAW_SPAN for a drawn pre-queue arrival. */
  key: number;
  /** Unix seconds, as the Redis heartbeat shards store it; ignored while a node holds it. */
  deadlineSec: number;
  /** The node whose open socket holds the position (a negative marker in Redis), or null. */
  holder: number | null;
}

/** Like the Redis keys of a queue, this state exists apart from the config (e.g. id blocks). */
interface QueueState {
  config: QueueConfig | null;
  /** Per lane, [key, id] ascending by key, then id (as the Redis zset orders equal scores). */
  lanes: [number, string][][];
  /** The weighted lanes' stride state (in the bucket hash in Redis). */
  laneState: LaneState;
  /** 'lane:id' of the current event's drawn pre-queue arrivals. */
  draw: string[];
  waiting: Map<string, Waiting>;
  /** position id -> session expiry (ms) */
  active: Map<string, number>;
  /** Lazy schedule of session expiries: an entry is stale when `active` says otherwise. */
  expiries: MinHeap<string>;
  /** [admission time ms, id] ascending by time; trimmed to the 60 s window on admit. */
  admissions: [number, string][];
  bucket: Bucket | null;
  seq: number;
  /** The wait set's version: +1 per change (enqueue, leave, admission step, sweep step). */
  version: number;
  /** node number -> lease expiry (ms) */
  leases: Map<number, number>;
  idBlocks: number;
  /** IP key -> ids of that address's positions (a superset of those still waiting), as the Redis buckets. */
  ipPositions: Map<string, string[]>;
  counters: { enqueued: number; admitted: number; expired: number; cancelled: number; sessionsEnded: number };
  /** Dashboard samples, one per bucket (bucket start ms), oldest first. */
  history: { bucket: number; sample: HistorySample }[];
}

/** First index whose entry is not below [key, id] (entries sorted by key, then id). */
function lowerBound(entries: readonly [number, string][], key: number, id: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const [k, i] = entries[mid] as [number, string];
    if (k < key || (k === key && i < id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is greater than `key` (entries sorted by key). */
function upperBound(entries: readonly [number, string][], key: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((entries[mid] as [number, string])[0] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function newQueueState(): QueueState {
  return {
    config: null,
    lanes: Array.from({ length: MAX_LANE + 1 }, () => []),
    laneState: { pass: [0, 0, 0, 0], vt: 0 },
    draw: [],
    waiting: new Map(),
    active: new Map(),
    expiries: createMinHeap(),
    admissions: [],
    bucket: null,
    seq: 0,
    version: 0,
    leases: new Map(),
    idBlocks: 0,
    ipPositions: new Map(),
    counters: { enqueued: 0, admitted: 0, expired: 0, cancelled: 0, sessionsEnded: 0 },
    history: [],
  };
}

function scoreOf(w: Waiting): number {
  return (MAX_LANE - w.lane) * LANE_SCORE_STRIDE + w.key;
}

export function createMemoryQueueStore(opts: MemoryQueueStoreOptions = {}): QueueStore {
  const clock = opts.clock ?? Date.now;
  const queues = new Map<string, QueueState>();
  let nodeSeq = 0;
  const now = () => Math.floor(clock());

  /** Reads never create state, so lookups of unknown queues cost no memory. */
  function find(queueId: string): QueueState | undefined {
    assertQueueId(queueId);
    return queues.get(queueId);
  }

  function stateOf(queueId: string): QueueState {
    let state = find(queueId);
    if (!state) {
      state = newQueueState();
      queues.set(queueId, state);
    }
    return state;
  }

  function laneOf(q: QueueState, lane: number): [number, string][] {
    return q.lanes[lane] as [number, string][];
  }

  /** Admissions in (t - 60 s, t]: count and oldest time. */
  function admissionWindow(q: QueueState, t: number): { count: number; oldest: number | null } {
    const first = upperBound(q.admissions, t - RATE_WINDOW_MS);
    return { count: q.admissions.length - first, oldest: q.admissions[first]?.[0] ?? null };
  }

  /** 1-based place of a waiting position, counting every lane ahead. */
  function rankOf(q: QueueState, positionId: string, w: Waiting): number {
    let ahead = 0;
    for (let lane = MAX_LANE; lane > w.lane; lane--) ahead += laneOf(q, lane).length;
    return ahead + lowerBound(laneOf(q, w.lane), w.key, positionId) + 1;
  }

  function waitingFacts(q: QueueState, positionId: string, t: number): WaitingFacts | null {
    const w = q.waiting.get(positionId);
    if (!w) return null;
    const { count, oldest } = admissionWindow(q, t);
    return {
      position: rankOf(q, positionId, w),
      score: scoreOf(w),
      version: q.version,
      queueLength: q.waiting.size,
      admittedInWindow: count,
      oldestAdmissionInWindow: oldest,
      now: t,
    };
  }

  function positionState(q: QueueState, positionId: string, t: number): PositionState {
    const facts = waitingFacts(q, positionId, t);
    if (facts) return { state: 'waiting', ...facts };
    const expires = liveSession(q, positionId, t);
    return expires === null ? { state: 'gone' } : { state: 'admitted', sessionExpiresAt: expires, now: t };
  }

  /** Removes a waiting position; its score, or null when it was not waiting. */
  function removeWaiting(q: QueueState, positionId: string): number | null {
    const w = q.waiting.get(positionId);
    if (!w) return null;
    const lane = laneOf(q, w.lane);
    lane.splice(lowerBound(lane, w.key, positionId), 1);
    q.waiting.delete(positionId);
    return scoreOf(w);
  }

  /** A deadline from now: heartbeat_timeout_seconds after t, in unix seconds. */
  function deadlineFrom(q: QueueState, t: number): number {
    return Math.floor(t / 1000) + (q.config?.heartbeat_timeout_seconds ?? 0);
  }

  /**
   * The deadline of a position held by `holder` as the sweeper sees it at t: null while the
   * node's lease runs; once it lapsed at L (missing: L = t), the timeout after L.
   */
  function heldDeadline(q: QueueState, holder: number, t: number): number | null {
    const lease = q.leases.get(holder);
    if (lease !== undefined && lease >= t) return null;
    return deadlineFrom(q, lease ?? t);
  }

  /** The expiry of a session still running at t. One past its expiry has ended, even before admit removes it. */
  function liveSession(q: QueueState, positionId: string, t: number): number | null {
    const expires = q.active.get(positionId);
    return expires !== undefined && expires > t ? expires : null;
  }

  function startSession(q: QueueState, positionId: string, expiresAt: number): void {
    q.active.set(positionId, expiresAt);
    q.expiries.push(expiresAt, positionId);
  }

  function endExpiredSessions(q: QueueState, t: number): string[] {
    const ended: string[] = [];
    while (ended.length < MAX_ENDED_PER_STEP) {
      const next = q.expiries.peek();
      if (!next || next.key > t) break;
      q.expiries.pop();
      if (q.active.get(next.value) !== next.key) continue; // renewed or ended since
      q.active.delete(next.value);
      ended.push(next.value);
    }
    q.counters.sessionsEnded += ended.length;
    return ended;
  }

  /** queue_only_when_needed: nobody waits and every limit has room (takes a token when so). */
  function roomNow(q: QueueState, config: QueueConfig, mode: ReturnType<typeof effectiveMode>, t: number): boolean {
    if (!config.queue_only_when_needed || (mode.method !== 'fifo' && mode.method !== 'random')) return false;
    if (q.waiting.size > 0 || q.active.size >= mode.maxActive) return false;
    if (admissionWindow(q, t).count >= mode.ratePerMinute) return false;
    const bucket = q.bucket
      ? refillBucket(q.bucket, mode.ratePerMinute, t)
      : { tokens: Math.min(bucketCapacity(mode.ratePerMinute), 1), updatedAt: t };
    if (bucket.tokens < 1) return false;
    q.bucket = { tokens: bucket.tokens - 1, updatedAt: t };
    return true;
  }

  return {
    now: async () => now(),

    async createQueue(config) {
      const q = stateOf(config.id);
      if (q.config) return false;
      q.config = { ...config };
      return true;
    },

    async getQueue(queueId) {
      const config = find(queueId)?.config;
      return config ? { ...config } : null;
    },

    async updateQueue(queueId, patch, updatedAt) {
      const q = find(queueId);
      if (!q?.config) return null;
      const defined = Object.entries(patch).filter(([, value]) => value !== undefined);
      if (patch.event !== undefined && patch.event?.seed !== q.config.event?.seed) q.draw = [];
      q.config = { ...q.config, ...Object.fromEntries(defined), updated_at: updatedAt };
      return { ...q.config };
    },

    listQueues: async () => [...queues.entries()].filter(([, q]) => q.config !== null).map(([id]) => id),

    async reservePositionIds(queueId) {
      return positionIdsOfBlock(++stateOf(queueId).idBlocks);
    },

    async enqueue(queueId, positionId, lane, holder, ipLimit, drawKey) {
      assertLane(lane);
      if (holder !== undefined) assertHolder(holder);
      assertIpLimit(ipLimit);
      if (drawKey !== undefined) assertDrawKey(drawKey);
      heartbeatShardOf(positionId); // rejects ids the store never hands out, as the Redis store does
      const q = find(queueId);
      const t = now();
      if (!q?.config) return { kind: 'no_queue' };
      const config = q.config;
      if (config.status === 'maintenance') return { kind: 'maintenance' };
      let w = q.waiting.get(positionId);
      if (!w) {
        const mode = effectiveMode(config, t);
        if (mode.method === 'reject') return { kind: 'rejected' };
        if (config.status === 'active' && (mode.method === 'passthrough' || roomNow(q, config, mode, t))) {
          const sessionExpiresAt = t + Math.floor(config.session_duration_seconds * 1000);
          startSession(q, positionId, sessionExpiresAt);
          q.admissions.splice(upperBound(q.admissions, t), 0, [t, positionId]);
          q.counters.enqueued++;
          q.counters.admitted++;
          return { kind: 'admitted', sessionExpiresAt, now: t };
        }
        if (q.waiting.size >= config.max_queue_size) return { kind: 'queue_full' };
        // Only ids still waiting count: admitted, departed and expired ones drop out by themselves.
        if (ipLimit) {
          const live = (q.ipPositions.get(ipLimit.key) ?? []).filter((id) => q.waiting.has(id));
          if (live.length >= ipLimit.max) return { kind: 'ip_limit', waiting: live.length };
          q.ipPositions.set(ipLimit.key, [...live, positionId]);
        }
        const drawn = mode.drawArrivals && drawKey !== undefined;
        w = { lane, key: drawn ? drawKey - DRAW_SPAN : ++q.seq, deadlineSec: 0, holder: null };
        if (drawn) q.draw.push(`${lane}:${positionId}`);
        q.waiting.set(positionId, w);
        const entries = laneOf(q, lane);
        entries.splice(lowerBound(entries, w.key, positionId), 0, [w.key, positionId]);
        q.counters.enqueued++;
        q.version++;
      }
      // A repeat without a holder renews the deadline as heartbeat does: a held position stays held.
      if (holder !== undefined) w.holder = holder;
      else if (w.holder === null) w.deadlineSec = deadlineFrom(q, t);
      return { kind: 'queued', ...(waitingFacts(q, positionId, t) as WaitingFacts) };
    },

    async drawEntries(queueId) {
      return [...(find(queueId)?.draw ?? [])];
    },

    async pruneIpLimits(queueId, step) {
      const q = find(queueId);
      // One whole pass per cycle of steps, as often as the Redis store covers every bucket.
      if (!q || Math.abs(Math.trunc(step)) % IP_LIMIT_PRUNE_STEPS !== 0) return 0;
      let removed = 0;
      for (const [key, ids] of q.ipPositions) {
        const live = ids.filter((id) => q.waiting.has(id));
        if (live.length === 0) {
          q.ipPositions.delete(key);
          removed++;
        } else if (live.length < ids.length) q.ipPositions.set(key, live);
      }
      return removed;
    },

    async getPosition(queueId, positionId) {
      const q = find(queueId);
      if (!q) return { state: 'gone' };
      const state = positionState(q, positionId, now());
      const w = q.waiting.get(positionId);
      if (state.state !== 'waiting' || !w) return state;
      return { ...state, deadlineSeconds: w.holder === null ? w.deadlineSec : null };
    },

    async heartbeat(queueId, positionId) {
      heartbeatShardOf(positionId);
      const q = find(queueId);
      if (!q) return { state: 'gone' };
      const t = now();
      const w = q.waiting.get(positionId);
      if (w && w.holder === null && q.config) w.deadlineSec = deadlineFrom(q, t);
      return positionState(q, positionId, t);
    },

    async leave(queueId, positionId): Promise<Departure | null> {
      heartbeatShardOf(positionId);
      const q = find(queueId);
      const score = q ? removeWaiting(q, positionId) : null;
      if (!q || score === null) return null;
      q.counters.cancelled++;
      return { score, version: ++q.version, queueLength: q.waiting.size };
    },

    registerNode: async () => ++nodeSeq,

    async attach(queueId, positionId, holder) {
      assertHolder(holder);
      heartbeatShardOf(positionId);
      const q = find(queueId);
      if (!q) return { state: 'gone' };
      const w = q.waiting.get(positionId);
      if (w) w.holder = holder;
      return positionState(q, positionId, now());
    },

    async detach(queueId, positionId, holder) {
      heartbeatShardOf(positionId);
      const q = find(queueId);
      const w = q?.waiting.get(positionId);
      if (!q || !w || w.holder !== holder) return;
      w.holder = null;
      w.deadlineSec = deadlineFrom(q, now());
    },

    async renewNodeLease(queueId, holder, ttlMs) {
      assertHolder(holder);
      assertLeaseTtl(ttlMs);
      stateOf(queueId).leases.set(holder, now() + ttlMs);
    },

    async releaseNode(queueId, holder) {
      assertHolder(holder);
      stateOf(queueId).leases.set(holder, now());
    },

    async ranks(queueId, positionIds) {
      assertRankIds(positionIds);
      const q = find(queueId);
      const t = now();
      const ranks = positionIds.map((id) => {
        const w = q?.waiting.get(id);
        return q && w ? rankOf(q, id, w) : null;
      });
      return { version: q?.version ?? 0, queueLength: q?.waiting.size ?? 0, ranks, now: t };
    },

    async admit(queueId, maxBatch, seed = lotterySeed()) {
      assertMaxBatch(maxBatch);
      assertLotterySeed(seed);
      const q = find(queueId);
      const t = now();
      const config = q?.config;
      if (!q || !config) {
        return { now: t, version: q?.version ?? 0, queueLength: q?.waiting.size ?? 0, admitted: [], endedSessions: [] };
      }
      const endedSessions = endExpiredSessions(q, t);
      const mode = effectiveMode(config, t);
      const rate = mode.ratePerMinute;
      const bucket = q.bucket
        ? refillBucket(q.bucket, rate, t)
        : { tokens: Math.min(bucketCapacity(rate), 1), updatedAt: t };
      q.bucket = bucket;
      const result = (admitted: Admission[]) => {
        if (admitted.length > 0) q.version++;
        return { now: t, version: q.version, queueLength: q.waiting.size, admitted, endedSessions };
      };
      if (config.status !== 'active' || mode.method === 'queue_all') return result([]);

      q.admissions.splice(0, upperBound(q.admissions, t - RATE_WINDOW_MS));
      const n =
        mode.method === 'passthrough'
          ? Math.min(q.waiting.size, maxBatch)
          : admissibleCount({
              tokens: bucket.tokens,
              ratePerMinute: rate,
              admittedInWindow: q.admissions.length,
              maxActive: mode.maxActive,
              active: q.active.size,
              waiting: q.waiting.size,
              maxBatch,
            });
      // Passthrough admits past the limits on purpose and leaves the bucket as it is.
      if (mode.method !== 'passthrough') bucket.tokens -= n;
      q.counters.admitted += n;
      const sessionExpiresAt = t + Math.floor(config.session_duration_seconds * 1000);
      const admitted: Admission[] = [];
      const counts = q.lanes.map((entries) => entries.length);
      let lottery = seed;
      // Lane by lane as pickLane says; inside the lane its head, or the lottery's pick (admit-7.lua).
      for (let i = 0; i < n; i++) {
        const lane = pickLane(counts, config.lane_weights, config.lane0_min_share, q.laneState);
        if (lane < 0) break;
        let offset = 0;
        if (mode.method === 'random') {
          lottery = nextLottery(lottery);
          offset = lotteryIndex(lottery, counts[lane] as number);
        }
        const [[, positionId]] = laneOf(q, lane).splice(offset, 1) as [[number, string]];
        counts[lane] = (counts[lane] as number) - 1;
        const score = scoreOf(q.waiting.get(positionId) as Waiting);
        q.waiting.delete(positionId);
        startSession(q, positionId, sessionExpiresAt);
        admitted.push({ positionId, score, admittedAt: t, sessionExpiresAt });
      }
      const log = admitted.map((a): [number, string] => [t, a.positionId]);
      q.admissions.splice(upperBound(q.admissions, t), 0, ...log);
      return result(admitted);
    },

    async sweep(queueId): Promise<SweepResult> {
      const q = find(queueId);
      const t = now();
      if (!q) return { now: t, version: 0, queueLength: 0, expired: [] };
      for (const [holder, lease] of q.leases) if (lease < t - STALE_LEASE_MS) q.leases.delete(holder);
      const nowSec = Math.floor(t / 1000);
      const due: string[] = [];
      for (const [id, w] of q.waiting) {
        if (w.holder !== null) {
          const deadline = heldDeadline(q, w.holder, t);
          if (deadline === null) continue;
          // From now on it runs like a detached position, as the Redis sweeper rewrites its marker.
          w.holder = null;
          w.deadlineSec = deadline;
        }
        if (w.deadlineSec < nowSec) due.push(id);
      }
      const expired = due.map((positionId) => ({ positionId, score: removeWaiting(q, positionId) as number }));
      q.counters.expired += expired.length;
      if (expired.length > 0) q.version++;
      return { now: t, version: q.version, queueLength: q.waiting.size, expired };
    },

    async getSession(queueId, positionId): Promise<SessionState | null> {
      const q = find(queueId);
      const t = now();
      const expiresAt = q ? liveSession(q, positionId, t) : null;
      return expiresAt === null ? null : { positionId, expiresAt, now: t };
    },

    async touchSession(queueId, positionId) {
      const q = find(queueId);
      const t = now();
      const current = q?.config ? liveSession(q, positionId, t) : null;
      if (!q?.config || current === null) return null;
      if (q.config.session_renewal === false) return { positionId, expiresAt: current, now: t, renewed: false };
      const expiresAt = t + Math.floor(q.config.session_duration_seconds * 1000);
      startSession(q, positionId, expiresAt);
      return { positionId, expiresAt, now: t, renewed: true };
    },

    async endSession(queueId, positionId) {
      const q = find(queueId);
      if (!q || liveSession(q, positionId, now()) === null) return false;
      q.active.delete(positionId);
      q.counters.sessionsEnded++;
      return true;
    },

    async stats(queueId): Promise<QueueCounts> {
      const q = find(queueId) ?? newQueueState(); // an unknown queue counts zeros, as in Redis
      const t = now();
      const { count, oldest } = admissionWindow(q, t);
      let active = 0;
      for (const expires of q.active.values()) if (expires > t) active++;
      return {
        waiting: q.waiting.size,
        active,
        admittedInWindow: count,
        oldestAdmissionInWindow: oldest,
        totalEnqueued: q.counters.enqueued,
        totalAdmitted: q.counters.admitted,
        totalExpired: q.counters.expired,
        totalCancelled: q.counters.cancelled,
        totalSessionsEnded: q.counters.sessionsEnded,
        version: q.version,
        now: t,
      };
    },

    async recordHistory(queueId, bucketMs, retainMs, sockets) {
      assertHistoryWindow(bucketMs, retainMs, sockets);
      const q = find(queueId);
      if (!q?.config) return false;
      const t = now();
      const bucket = t - (t % bucketMs);
      if (q.history.at(-1)?.bucket === bucket) return false;
      let active = 0;
      for (const expires of q.active.values()) if (expires > t) active++;
      q.history.push({
        bucket,
        sample: {
          at: t,
          waiting: q.waiting.size,
          active,
          sockets,
          totalEnqueued: q.counters.enqueued,
          totalAdmitted: q.counters.admitted,
          totalExpired: q.counters.expired,
          totalCancelled: q.counters.cancelled,
          totalSessionsEnded: q.counters.sessionsEnded,
          admissionRatePerMinute: q.config.admission_rate_per_minute,
          status: q.config.status,
        },
      });
      const keepFrom = q.history.findIndex((h) => h.bucket >= bucket - retainMs);
      if (keepFrom > 0) q.history.splice(0, keepFrom);
      return true;
    },

    async history(queueId, sinceMs) {
      return (find(queueId)?.history ?? []).filter((h) => h.bucket >= sinceMs).map((h) => ({ ...h.sample }));
    },

    ping: async () => true,
    async close() {},
  };
}
