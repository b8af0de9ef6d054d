/** Queue configuration and the rules every queue id and lane obey. Pure: no I/O. */

export const QUEUE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const QUEUE_STATUSES = ['active', 'paused', 'maintenance'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

/** Lanes 0..MAX_LANE; a higher lane is admitted first (or by weight), FIFO inside a lane. */
export const MAX_LANE = 3;

/**
 * How a queue admits (docs/QUEUE_MANAGEMENT.md): `fifo` in arrival order, `random` a lottery
 * among those waiting at each admission step, `passthrough` everyone at once (still counted),
 * `reject` no new visitors (those waiting are still admitted), `queue_all` hold everyone.
 */
export const QUEUEING_METHODS = ['fifo', 'random', 'passthrough', 'reject', 'queue_all'] as const;
export type QueueingMethod = (typeof QUEUEING_METHODS)[number];

/** One weight per lane 0..MAX_LANE. */
export type LaneWeights = [number, number, number, number];

/**
 * A scheduled event: a pre-queue from `prequeue_starts_at` (nobody admitted, arrivals shuffled
 * by a committed seed when `shuffle_prequeue`), the sale from `starts_at` to `ends_at` with its
 * own limits, then the queue's own settings again. Times are ISO strings on the wire.
 */
export interface QueueEvent {
  prequeue_starts_at: string;
  starts_at: string;
  ends_at: string;
  queueing_method: QueueingMethod | null;
  admission_rate_per_minute: number | null;
  max_active_users: number | null;
  shuffle_prequeue: boolean;
  /** sha256(seed) in hex, published before the sale. */
  seed_commitment: string;
  /** 32 random bytes in hex; secret until `starts_at` (see publicQueueView). */
  seed: string;
}

export interface QueueConfig {
  id: string;
  name: string;
  target_url: string;
  max_active_users: number;
  max_queue_size: number;
  admission_rate_per_minute: number;
  session_duration_seconds: number;
  heartbeat_interval_seconds: number;
  heartbeat_timeout_seconds: number;
  /** Does activity (POST /sessions/{id}/activity) extend a session? Off: sessions end on time. */
  session_renewal: boolean;
  status: QueueStatus;
  queueing_method: QueueingMethod;
  /** Admit a joining visitor at once while nobody waits and the limits have room. */
  queue_only_when_needed: boolean;
  /** null: strict priority (highest lane first); otherwise weighted shares of each admission. */
  lane_weights: LaneWeights | null;
  /** Lane 0's least share of admissions while it and a higher lane both wait (with weights). */
  lane0_min_share: number;
  event: QueueEvent | null;
  created_at: string;
  updated_at: string;
}

export type QueueSettings = Omit<QueueConfig, 'id' | 'created_at' | 'updated_at'>;

/** The seed's case study: capacity 50,000, 500 admissions/minute, 10-minute sessions, 60 s timeout. */
export function defaultQueueSettings(id: string, targetUrl: string): QueueSettings {
  return {
    name: id,
    target_url: targetUrl,
    max_active_users: 50_000,
    max_queue_size: 50_000,
    admission_rate_per_minute: 500,
    session_duration_seconds: 600,
    heartbeat_interval_seconds: 30,
    heartbeat_timeout_seconds: 60,
    session_renewal: true,
    status: 'active',
    queueing_method: 'fifo',
    queue_only_when_needed: false,
    lane_weights: null,
    lane0_min_share: 0,
    event: null,
  };
}

export function isValidQueueId(id: string): boolean {
  return QUEUE_ID_PATTERN.test(id);
}

/** A session id names its queue so `/api/v1/sessions/{id}` and admin revoke need nothing else. */
export function sessionIdOf(queueId: string, positionId: string): string {
  return `${queueId}.${positionId}`;
}

export function parseSessionId(sessionId: string): { queueId: string; positionId: string } | null {
  const dot = sessionId.lastIndexOf('.');
  if (dot <= 0) return null;
  const queueId = sessionId.slice(0, dot);
  const positionId = sessionId.slice(dot + 1);
  if (!isValidQueueId(queueId) || !POSITION_ID_PATTERN.test(positionId)) return null;
  return { queueId, positionId };
}

/** Position ids are base-36 integers handed out in blocks of HEARTBEAT_SHARD_SIZE per node. */
export const POSITION_ID_PATTERN = /^[0-9a-z]{1,12}$/;
