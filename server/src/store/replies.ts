/**
 * Turns raw Redis replies (script replies as documented in each .lua header, and the queue
 * config hash) into the typed results of types.ts. A reply of an unexpected shape throws: it
 * means a script and this file disagree, which must never pass silently.
 */
import {
  QUEUEING_METHODS,
  QUEUE_STATUSES,
  type LaneWeights,
  type QueueConfig,
  type QueueEvent,
  type QueueStatus,
  type QueueingMethod,
} from '../domain/queue.js';
import type { HistorySample, PositionState, QueueCounts, SweepResult, WaitingFacts } from './types.js';

export class StoreReplyError extends Error {
  constructor(what: string, reply: unknown) {
    super(`unexpected store reply for ${what}: ${JSON.stringify(reply)}`);
    this.name = 'StoreReplyError';
  }
}

export function asArray(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) throw new StoreReplyError(what, reply);
  return reply;
}

export function asNumber(reply: unknown, what: string): number {
  const n = typeof reply === 'string' ? Number(reply) : reply;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new StoreReplyError(what, reply);
  return n;
}

export function asNullableNumber(reply: unknown, what: string): number | null {
  return reply === null ? null : asNumber(reply, what);
}

export function asStrings(reply: unknown, what: string): string[] {
  const list = asArray(reply, what);
  if (!list.every((item): item is string => typeof item === 'string')) throw new StoreReplyError(what, reply);
  return list;
}

/** `{'waiting', position, score, version, length, count, oldest|nil, now}` → WaitingFacts. */
export function parseWaitingFacts(reply: unknown[], what: string): WaitingFacts {
  return {
    position: asNumber(reply[1], what),
    score: asNumber(reply[2], what),
    version: asNumber(reply[3], what),
    queueLength: asNumber(reply[4], what),
    admittedInWindow: asNumber(reply[5], what),
    oldestAdmissionInWindow: asNullableNumber(reply[6], what),
    now: asNumber(reply[7], what),
  };
}

/** sweep-n's flat `{id1, score1, id2, score2, ...}` → the expired positions. */
export function parseExpired(raw: unknown): SweepResult['expired'] {
  const flat = asArray(raw, 'sweep expired');
  const expired: SweepResult['expired'] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const positionId = flat[i];
    if (typeof positionId !== 'string') throw new StoreReplyError('sweep expired', raw);
    expired.push({ positionId, score: asNumber(flat[i + 1], 'sweep expired') });
  }
  return expired;
}

/** The shared position reply of position-state.lua. */
export function parsePositionState(raw: unknown, what: string): PositionState {
  const reply = asArray(raw, what);
  switch (reply[0]) {
    case 'waiting':
      return { state: 'waiting', ...parseWaitingFacts(reply, what) };
    case 'admitted':
      return { state: 'admitted', sessionExpiresAt: asNumber(reply[1], what), now: asNumber(reply[2], what) };
    case 'gone':
      return { state: 'gone' };
    default:
      throw new StoreReplyError(what, raw);
  }
}

export function parseCounts(raw: unknown): QueueCounts {
  const r = asArray(raw, 'stats');
  const n = (i: number) => asNumber(r[i], 'stats');
  return {
    now: n(0),
    waiting: n(1),
    active: n(2),
    admittedInWindow: n(3),
    oldestAdmissionInWindow: asNullableNumber(r[4], 'stats'),
    totalEnqueued: n(5),
    totalAdmitted: n(6),
    totalExpired: n(7),
    totalCancelled: n(8),
    totalSessionsEnded: n(9),
    version: n(10),
  };
}

const NUMERIC_FIELDS = [
  'max_active_users',
  'max_queue_size',
  'admission_rate_per_minute',
  'session_duration_seconds',
  'heartbeat_interval_seconds',
  'heartbeat_timeout_seconds',
] as const;

/**
 * The scripts read the event, lane weights and flags as flat hash fields (queue-mode.lua,
 * lanes.lua): event times in ms, '' for "none", booleans as 'true'/'false', weights as "w0,w1,w2,w3".
 */
function eventToHash(event: QueueEvent | null): Record<string, string> {
  const ms = (iso: string | undefined) => (iso === undefined ? '' : String(Date.parse(iso)));
  return {
    event_prequeue_at: ms(event?.prequeue_starts_at),
    event_start_at: ms(event?.starts_at),
    event_end_at: ms(event?.ends_at),
    event_method: event?.queueing_method ?? '',
    event_rate: event?.admission_rate_per_minute?.toString() ?? '',
    event_max_active: event?.max_active_users?.toString() ?? '',
    event_shuffle: String(event?.shuffle_prequeue ?? false),
    event_seed: event?.seed ?? '',
    event_seed_commitment: event?.seed_commitment ?? '',
  };
}

function hashToEvent(hash: Record<string, string>): QueueEvent | null {
  const at = (field: string) => new Date(asNumber(hash[field], `queue config ${field}`)).toISOString();
  if (!hash.event_start_at) return null;
  const method = hash.event_method ?? '';
  return {
    prequeue_starts_at: at('event_prequeue_at'),
    starts_at: at('event_start_at'),
    ends_at: at('event_end_at'),
    queueing_method: method === '' ? null : asMethod(method),
    admission_rate_per_minute: hash.event_rate ? asNumber(hash.event_rate, 'queue config event_rate') : null,
    max_active_users: hash.event_max_active ? asNumber(hash.event_max_active, 'queue config event_max_active') : null,
    shuffle_prequeue: parseFlag(hash.event_shuffle, false, 'queue config event_shuffle'),
    seed_commitment: hash.event_seed_commitment ?? '',
    seed: hash.event_seed ?? '',
  };
}

function asMethod(value: string): QueueingMethod {
  if (!QUEUEING_METHODS.includes(value as QueueingMethod)) throw new StoreReplyError('queue config method', value);
  return value as QueueingMethod;
}

/** QueueConfig (or a patch of it) → flat field/value list for HSET; undefined fields skipped. */
export function configToHashArgs(config: Partial<QueueConfig>): string[] {
  const args: string[] = [];
  for (const [field, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (field === 'event') {
      for (const [f, v] of Object.entries(eventToHash(value as QueueEvent | null))) args.push(f, v);
    } else if (field === 'lane_weights') {
      args.push(field, value === null ? '' : (value as LaneWeights).join(','));
    } else {
      args.push(field, String(value));
    }
  }
  return args;
}

/** A config hash (HGETALL object or flat list) → QueueConfig; null for an empty hash. */
export function hashToConfig(raw: unknown): QueueConfig | null {
  let hash: Record<string, string>;
  if (Array.isArray(raw)) {
    const flat = asStrings(raw, 'queue config');
    hash = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
  } else if (raw !== null && typeof raw === 'object') {
    hash = raw as Record<string, string>;
  } else {
    throw new StoreReplyError('queue config', raw);
  }
  if (hash.id === undefined) return null;
  const status = hash.status;
  if (!QUEUE_STATUSES.includes(status as QueueStatus)) throw new StoreReplyError('queue config status', hash);
  const numbers = Object.fromEntries(NUMERIC_FIELDS.map((f) => [f, asNumber(hash[f], `queue config ${f}`)])) as Record<
    (typeof NUMERIC_FIELDS)[number],
    number
  >;
  // Queues created before these settings existed read as the defaults.
  const weights = hash.lane_weights ? hash.lane_weights.split(',').map((w) => asNumber(w, 'queue config lane_weights')) : null;
  if (weights && weights.length !== 4) throw new StoreReplyError('queue config lane_weights', hash.lane_weights);
  return {
    id: hash.id,
    name: hash.name ?? '',
    target_url: hash.target_url ?? '',
    ...numbers,
    session_renewal: parseFlag(hash.session_renewal, true, 'queue config session_renewal'),
    status: status as QueueStatus,
    queueing_method: asMethod(hash.queueing_method ?? 'fifo'),
    queue_only_when_needed: parseFlag(hash.queue_only_when_needed, false, 'queue config queue_only_when_needed'),
    lane_weights: weights as LaneWeights | null,
    lane0_min_share: hash.lane0_min_share ? asNumber(hash.lane0_min_share, 'queue config lane0_min_share') : 0,
    event: hashToEvent(hash),
    created_at: hash.created_at ?? '',
    updated_at: hash.updated_at ?? '',
  };
}

/** A boolean config field ('true' / 'false' in the hash); missing = the default (queues made before the field existed). */
function parseFlag(value: string | undefined, fallback: boolean, what: string): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new StoreReplyError(what, value);
}

/** A member of the history zset (record-history-5.lua): colon-separated, the status last. */
export function parseHistorySample(member: string): HistorySample {
  const parts = member.split(':');
  const status = parts[10];
  if (parts.length !== 11 || !QUEUE_STATUSES.includes(status as QueueStatus)) throw new StoreReplyError('history', member);
  const n = (i: number) => asNumber(parts[i], 'history');
  return {
    at: n(0),
    waiting: n(1),
    active: n(2),
    sockets: n(3),
    totalEnqueued: n(4),
    totalAdmitted: n(5),
    totalExpired: n(6),
    totalCancelled: n(7),
    totalSessionsEnded: n(8),
    admissionRatePerMinute: n(9),
    status: status as QueueStatus,
  };
}
