/**
 * The in-process QueueStore of the embedded mode (no DragonFly). Same semantics as the Redis
 * store, held to it by the conformance suite; the admission maths is domain/admission.ts as is.
 * Single-threaded JS makes every method atomic, as a Lua script is on the store.
 */
import { RATE_WINDOW_MS, admissibleCount, bucketCapacity, refillBucket, type Bucket } from '../domain/admission.js';
import { MAX_LANE, type QueueConfig } from '../domain/queue.js';
import { assertLane, assertMaxBatch } from './arguments.js';
import { assertQueueId, heartbeatShardOf, positionIdsOfBlock } from './keys.js';
import { createMinHeap, type MinHeap } from './min-heap.js';
import type { Admission, PositionState, QueueCounts, QueueStore, SessionState, WaitingFacts } from './types.js';

/** Sessions ended per admit step at most, as the Redis script (bounded work per tick). */
const MAX_ENDED_PER_STEP = 1000;

export interface MemoryQueueStoreOptions {
  /** Milliseconds since the epoch; injectable so tests can move time. */
  clock?: () => number;
}

interface Waiting {
  lane: number;
  seq: number;
  /** Unix seconds, as the Redis heartbeat shards store it. */
  deadlineSec: number;
}

/** Like the Redis keys of a queue, this state exists apart from the config (e.g. id blocks). */
interface QueueState {
  config: QueueConfig | null;
  /** Per lane, [seq, id] in ascending seq: seqs only grow, so enqueue appends. */
  lanes: [number, string][][];
  waiting: Map<string, Waiting>;
  /** position id -> session expiry (ms) */
  active: Map<string, number>;
  /** Lazy schedule of session expiries: an entry is stale when `active` says otherwise. */
  expiries: MinHeap<string>;
  /** [admission time ms, id] ascending by time; trimmed to the 60 s window on admit. */
  admissions: [number, string][];
  bucket: Bucket | null;
  seq: number;
  idBlocks: number;
  counters: { enqueued: number; admitted: number; expired: number; cancelled: number; sessionsEnded: number };
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
    waiting: new Map(),
    active: new Map(),
    expiries: createMinHeap(),
    admissions: [],
    bucket: null,
    seq: 0,
    idBlocks: 0,
    counters: { enqueued: 0, admitted: 0, expired: 0, cancelled: 0, sessionsEnded: 0 },
  };
}

export function createMemoryQueueStore(opts: MemoryQueueStoreOptions = {}): QueueStore {
  const clock = opts.clock ?? Date.now;
  const queues = new Map<string, QueueState>();
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

  function waitingFacts(q: QueueState, positionId: string, t: number): WaitingFacts | null {
    const w = q.waiting.get(positionId);
    if (!w) return null;
    let ahead = 0;
    for (let lane = MAX_LANE; lane > w.lane; lane--) ahead += laneOf(q, lane).length;
    ahead += upperBound(laneOf(q, w.lane), w.seq) - 1;
    const { count, oldest } = admissionWindow(q, t);
    return {
      position: ahead + 1,
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

  function removeWaiting(q: QueueState, positionId: string): boolean {
    const w = q.waiting.get(positionId);
    if (!w) return false;
    const lane = laneOf(q, w.lane);
    lane.splice(upperBound(lane, w.seq) - 1, 1);
    q.waiting.delete(positionId);
    return true;
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
      q.config = { ...q.config, ...Object.fromEntries(defined), updated_at: updatedAt };
      return { ...q.config };
    },

    listQueues: async () => [...queues.entries()].filter(([, q]) => q.config !== null).map(([id]) => id),

    async reservePositionIds(queueId) {
      return positionIdsOfBlock(++stateOf(queueId).idBlocks);
    },

    async enqueue(queueId, positionId, lane) {
      assertLane(lane);
      heartbeatShardOf(positionId); // rejects ids the store never hands out, as the Redis store does
      const q = find(queueId);
      const t = now();
      if (!q?.config) return { kind: 'no_queue' };
      if (q.config.status === 'maintenance') return { kind: 'maintenance' };
      let w = q.waiting.get(positionId);
      if (!w) {
        if (q.waiting.size >= q.config.max_queue_size) return { kind: 'queue_full' };
        w = { lane, seq: ++q.seq, deadlineSec: 0 };
        q.waiting.set(positionId, w);
        laneOf(q, lane).push([w.seq, positionId]);
        q.counters.enqueued++;
      }
      w.deadlineSec = Math.floor(t / 1000) + q.config.heartbeat_timeout_seconds;
      return { kind: 'queued', ...(waitingFacts(q, positionId, t) as WaitingFacts) };
    },

    async getPosition(queueId, positionId) {
      const q = find(queueId);
      return q ? positionState(q, positionId, now()) : { state: 'gone' };
    },

    async heartbeat(queueId, positionId) {
      heartbeatShardOf(positionId);
      const q = find(queueId);
      if (!q) return { state: 'gone' };
      const t = now();
      const w = q.waiting.get(positionId);
      if (w && q.config) w.deadlineSec = Math.floor(t / 1000) + q.config.heartbeat_timeout_seconds;
      return positionState(q, positionId, t);
    },

    async leave(queueId, positionId) {
      heartbeatShardOf(positionId);
      const q = find(queueId);
      if (!q || !removeWaiting(q, positionId)) return false;
      q.counters.cancelled++;
      return true;
    },

    async admit(queueId, maxBatch) {
      assertMaxBatch(maxBatch);
      const q = find(queueId);
      const t = now();
      const config = q?.config;
      if (!q || !config) return { now: t, admitted: [], endedSessions: [] };
      const endedSessions = endExpiredSessions(q, t);

      const rate = config.admission_rate_per_minute;
      const bucket = q.bucket
        ? refillBucket(q.bucket, rate, t)
        : { tokens: Math.min(bucketCapacity(rate), 1), updatedAt: t };
      q.bucket = bucket;
      if (config.status !== 'active') return { now: t, admitted: [], endedSessions };

      q.admissions.splice(0, upperBound(q.admissions, t - RATE_WINDOW_MS));
      let n = admissibleCount({
        tokens: bucket.tokens,
        ratePerMinute: rate,
        admittedInWindow: q.admissions.length,
        maxActive: config.max_active_users,
        active: q.active.size,
        waiting: q.waiting.size,
        maxBatch,
      });
      bucket.tokens -= n;
      q.counters.admitted += n;
      const sessionExpiresAt = t + Math.floor(config.session_duration_seconds * 1000);
      const admitted: Admission[] = [];
      // Highest lane first, each lane from its head: the n lowest scores of the Redis zset.
      for (let lane = MAX_LANE; lane >= 0 && n > 0; lane--) {
        const taken = laneOf(q, lane).splice(0, n);
        n -= taken.length;
        for (const [, positionId] of taken) {
          q.waiting.delete(positionId);
          startSession(q, positionId, sessionExpiresAt);
          admitted.push({ positionId, admittedAt: t, sessionExpiresAt });
        }
      }
      const log = admitted.map((a): [number, string] => [t, a.positionId]);
      q.admissions.splice(upperBound(q.admissions, t), 0, ...log);
      return { now: t, admitted, endedSessions };
    },

    async sweep(queueId) {
      const q = find(queueId);
      const t = now();
      if (!q) return { now: t, expired: [] };
      const nowSec = Math.floor(t / 1000);
      const expired = [...q.waiting].filter(([, w]) => w.deadlineSec < nowSec).map(([id]) => id);
      for (const id of expired) removeWaiting(q, id);
      q.counters.expired += expired.length;
      return { now: t, expired };
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
      if (!q?.config || liveSession(q, positionId, t) === null) return null;
      const expiresAt = t + Math.floor(q.config.session_duration_seconds * 1000);
      startSession(q, positionId, expiresAt);
      return { positionId, expiresAt, now: t };
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
        now: t,
      };
    },

    ping: async () => true,
    async close() {},
  };
}
