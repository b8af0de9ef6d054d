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
