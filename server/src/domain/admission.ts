/**
 * Admission maths, shared by both stores (the Redis Lua scripts implement the same rules; the
 * conformance suite holds them to it). Pure functions, times in milliseconds.
 */

export const RATE_WINDOW_MS = 60_000;

/** The bucket holds at most two seconds' worth of admissions, and at least one. */
export function bucketCapacity(ratePerMinute: number): number {
  return Math.max(1, (ratePerMinute * 2) / 60);
}

export interface Bucket {
  tokens: number;
  updatedAt: number;
}

export function refillBucket(bucket: Bucket, ratePerMinute: number, now: number): Bucket {
  const elapsed = Math.max(0, now - bucket.updatedAt);
  const tokens = Math.min(bucketCapacity(ratePerMinute), bucket.tokens + (elapsed * ratePerMinute) / RATE_WINDOW_MS);
  return { tokens, updatedAt: now };
}

export interface AdmissionLimits {
  tokens: number;
  ratePerMinute: number;
  admittedInWindow: number;
  maxActive: number;
  active: number;
  waiting: number;
  maxBatch: number;
}

/**
 * How many to admit now: the bucket keeps the flow smooth, the sliding 60 s window keeps any
 * minute at or under the configured rate, and the active-session cap is never crossed.
 */
export function admissibleCount(l: AdmissionLimits): number {
  return Math.max(
    0,
    Math.min(Math.floor(l.tokens), l.ratePerMinute - l.admittedInWindow, l.maxActive - l.active, l.waiting, l.maxBatch),
  );
}

/** Less admission history than this says too little about the pace: the configured rate stands in. */
const MIN_MEASURED_SPAN_MS = 5_000;

/**
 * Admissions per minute actually achieved, from the admissions of the last minute: the count
 * over the time since the oldest of them (so a stop in admissions shows within seconds). With
 * too few samples, or less than five seconds of them (the first seconds after admissions start,
 * whose count over a padded span would under-state the pace several times over), the configured
 * rate stands in. Never above the configured rate.
 */
export function measuredRatePerMinute(
  admittedInWindow: number,
  oldestInWindowMs: number | null,
  now: number,
  configuredPerMinute: number,
): number {
  if (admittedInWindow < 5 || oldestInWindowMs === null) return configuredPerMinute;
  const spanMs = now - oldestInWindowMs;
  if (spanMs < MIN_MEASURED_SPAN_MS) return configuredPerMinute;
  return Math.min(configuredPerMinute, (admittedInWindow * RATE_WINDOW_MS) / spanMs);
}

/** Seconds until a visitor at 1-based `position` is admitted at `ratePerMinute`. */
export function estimateWaitSeconds(position: number, ratePerMinute: number): number {
  if (position <= 0) return 0;
  if (ratePerMinute <= 0) return Number.MAX_SAFE_INTEGER;
  return Math.ceil((position * 60) / ratePerMinute);
}

/**
 * The lottery's random numbers: Park–Miller (minimal standard) from a seed the node draws per
 * step. Written with exact double arithmetic (products < 2^53) so the Lua script, on Lua 5.1 and
 * 5.4, and the memory store pick the very same visitors from the same seed.
 */
export const LOTTERY_MODULUS = 2_147_483_647;

export function nextLottery(state: number): number {
  return (state * 16_807) % LOTTERY_MODULUS;
}

/** A fresh seed in 1..2^31-2 (0 would stay 0). */
export function lotterySeed(): number {
  return 1 + Math.floor(Math.random() * (LOTTERY_MODULUS - 1));
}

/** An index in [0, size) from a lottery state. */
export function lotteryIndex(state: number, size: number): number {
  return Math.floor((state / LOTTERY_MODULUS) * size);
}

/** Stride-scheduling state of the weighted lanes: each lane's pass, and the virtual time. */
export interface LaneState {
  pass: number[];
  vt: number;
}

/**
 * Which lane each admission slot of a step goes to. `counts` are the waiting visitors per lane
 * (the caller takes one from the lane returned; -1 when none waits). Without weights: strict priority, the highest waiting lane first. With
 * weights: stride scheduling among the waiting lanes — each lane's share of admissions is its
 * weight over the sum of the waiting lanes' weights, and lane 0's weight is raised so its share
 * is at least `lane0MinShare` whenever it waits. A lane that was empty rejoins at the current
 * virtual time, so idling earns it no burst. The Lua script (admit-7.lua) is the same algorithm.
 */
export function pickLane(
  counts: readonly number[],
  weights: readonly number[] | null,
  lane0MinShare: number,
  state: LaneState,
): number {
  let best = -1;
  if (!weights) {
    for (let lane = counts.length - 1; lane >= 0; lane--) if ((counts[lane] as number) > 0) return lane;
    return best;
  }
  let others = 0;
  for (let lane = 1; lane < counts.length; lane++) if ((counts[lane] as number) > 0) others += weights[lane] as number;
  for (let lane = counts.length - 1; lane >= 0; lane--) {
    if ((counts[lane] as number) <= 0) continue;
    if ((state.pass[lane] as number) < state.vt) state.pass[lane] = state.vt;
    if (best < 0 || (state.pass[lane] as number) < (state.pass[best] as number)) best = lane;
  }
  if (best < 0) return best;
  let weight = weights[best] as number;
  if (best === 0) weight = Math.max(weight, (lane0MinShare / (1 - lane0MinShare)) * others);
  state.vt = state.pass[best] as number;
  state.pass[best] = (state.pass[best] as number) + 1 / weight;
  return best;
}
