/**
 * The seed's case study (shared/seed: "Concert Ticket Launch") and how a run here maps onto it.
 * Two factors shrink it to something a 2-core machine replays in a few minutes:
 *
 * - time scale k: every duration is divided by k (a real minute lasts 60/k s of wall time), so
 *   every rate per wall minute is multiplied by k;
 * - socket scale s: every count (visitors, capacities, admissions) is multiplied by s.
 *
 * So the admission rate the server is given is 500 · s · k per wall minute, the queue holds
 * 50,000 · s, sessions last 600 / k s, and so on; a measured figure maps back by dividing counts
 * by s and multiplying wall durations by k. Pure: no I/O.
 */

/** The seed's numbers: 100,000 visitors in 5 minutes, capacity 50,000, 500/min, 10-min sessions, 60 s timeout. */
export const REAL_CASE = {
  visitors: 100_000,
  arrivalSeconds: 300,
  maxQueueSize: 50_000,
  maxActiveUsers: 50_000,
  admissionsPerMinute: 500,
  sessionSeconds: 600,
  heartbeatTimeoutSeconds: 60,
  heartbeatIntervalSeconds: 30,
} as const;

/** The seed's results table, to compare with. */
export const SEED_RESULTS = {
  peakQueueSize: 45_000,
  averageWaitMinutes: 90,
  originAdmissionsPerMinute: 500,
  availability: 1,
} as const;

export interface Scale {
  /** Time scale k ≥ 1: a real second lasts 1/k wall seconds. */
  time: number;
  /** Socket scale 0 < s ≤ 1: the share of visitors (and of every capacity and rate) replayed. */
  sockets: number;
}

/** What the run gives the server and the crowd (wall-clock units). */
export interface ScaledCase {
  visitors: number;
  arrivalWallSeconds: number;
  queue: {
    max_queue_size: number;
    max_active_users: number;
    admission_rate_per_minute: number;
    session_duration_seconds: number;
    heartbeat_timeout_seconds: number;
    heartbeat_interval_seconds: number;
  };
}

/** Whole seconds of wall time for `realSeconds`, or an error naming what does not divide. */
function wholeWallSeconds(what: string, realSeconds: number, k: number): number {
  const wall = realSeconds / k;
  if (!Number.isInteger(wall) || wall < 1) {
    throw new RangeError(`--time-scale ${k} makes the ${what} (${realSeconds} s) ${wall} s; the server takes whole seconds ≥ 1`);
  }
  return wall;
}

export function scaleCase(scale: Scale): ScaledCase {
  const { time: k, sockets: s } = scale;
  if (!(Number.isFinite(k) && k >= 1)) throw new RangeError(`--time-scale must be ≥ 1, got ${k}`);
  if (!(s > 0 && s <= 1)) throw new RangeError(`--scale must be in (0, 1], got ${s}`);
  const count = (n: number, what: string) => {
    const v = Math.round(n * s);
    if (v < 1) throw new RangeError(`--scale ${s} leaves no ${what}`);
    return v;
  };
  const heartbeatTimeout = wholeWallSeconds('heartbeat timeout', REAL_CASE.heartbeatTimeoutSeconds, k);
  if (heartbeatTimeout < 2) {
    throw new RangeError(`--time-scale ${k} leaves a ${heartbeatTimeout} s heartbeat timeout; the interval must be below it, so use k ≤ 30`);
  }
  const rate = REAL_CASE.admissionsPerMinute * s * k;
  if (!Number.isInteger(rate)) throw new RangeError(`500 · scale · time-scale = ${rate} admissions/min must be a whole number`);
  return {
    visitors: count(REAL_CASE.visitors, 'visitors'),
    arrivalWallSeconds: REAL_CASE.arrivalSeconds / k,
    queue: {
      max_queue_size: count(REAL_CASE.maxQueueSize, 'queue capacity'),
      max_active_users: count(REAL_CASE.maxActiveUsers, 'active capacity'),
      admission_rate_per_minute: rate,
      session_duration_seconds: wholeWallSeconds('session', REAL_CASE.sessionSeconds, k),
      heartbeat_timeout_seconds: heartbeatTimeout,
      // Only REST clients use it; it must stay below the timeout.
      heartbeat_interval_seconds: Math.min(heartbeatTimeout - 1, Math.max(1, Math.round(REAL_CASE.heartbeatIntervalSeconds / k))),
    },
  };
}

/** Wall ms → real seconds of the case. */
export function realSeconds(wallMs: number, scale: Scale): number {
  return (wallMs / 1000) * scale.time;
}

/** Real seconds → wall ms. */
export function wallMs(realSecondsValue: number, scale: Scale): number {
  return (realSecondsValue * 1000) / scale.time;
}

/** A count measured in the run → the same count in the full-size case. */
export function realCount(count: number, scale: Scale): number {
  return count / scale.sockets;
}

/** `count` events over `wallMsValue` of the run → events per real minute of the full-size case. */
export function realPerMinute(count: number, wallMsValue: number, scale: Scale): number {
  const minutes = realSeconds(wallMsValue, scale) / 60;
  return minutes > 0 ? realCount(count, scale) / minutes : NaN;
}

/**
 * Server timers that cannot simply be divided by k (each has a floor in the config, and the
 * position tick costs one message per waiting socket): the settings the run uses.
 */
export function serverTimers(scale: Scale): { ADMISSION_TICK_MS: number; SWEEP_INTERVAL_MS: number; POSITION_TICK_MS: number } {
  return {
    ADMISSION_TICK_MS: Math.max(50, Math.round(250 / scale.time)),
    SWEEP_INTERVAL_MS: Math.max(100, Math.round(1_000 / scale.time)),
    // Kept at 1 s of wall time: a scaled tick (33 ms at k = 30) would send 30× the updates.
    POSITION_TICK_MS: 1_000,
  };
}
