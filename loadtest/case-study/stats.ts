/**
 * The case study's figures from what the run recorded: queue samples from the admin stats
 * endpoint and per-visitor join / admission times. Pure: no I/O.
 */
import { percentile, sortedCopy } from '../bench/lib/stats.js';
import { countBetween, type TimelineData } from '../lib/timeline.js';

export interface QueueSample {
  /** Wall ms since the start of the arrivals. */
  atMs: number;
  queueLength: number;
  activeSessions: number;
  /** The server's running totals. */
  admitted: number;
  expired: number;
}

export interface Spread {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  max: number;
}

export function spread(values: ArrayLike<number>): Spread {
  const sorted = sortedCopy(values);
  if (sorted.length === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, max: NaN };
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: sorted.length, mean: sum / sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: percentile(sorted, 100) };
}

export function peak(samples: readonly QueueSample[], field: 'queueLength' | 'activeSessions'): number {
  let max = 0;
  for (const s of samples) max = Math.max(max, s[field]);
  return max;
}

/**
 * Events of a timeline in consecutive windows of `windowMs` from its epoch up to `untilMs` (the
 * last partial window left out). Windows must be a whole number of the timeline's buckets.
 */
export function windowCounts(timeline: TimelineData, windowMs: number, untilMs: number): number[] {
  if (!(windowMs > 0) || windowMs % timeline.bucketMs !== 0) {
    throw new RangeError(`a window of ${windowMs} ms is not a whole number of ${timeline.bucketMs} ms buckets`);
  }
  const out: number[] = [];
  for (let from = timeline.epochMs; from + windowMs <= untilMs; from += windowMs) out.push(countBetween(timeline, from, from + windowMs));
  return out;
}

/**
 * The windows of the admission phase: from the first window with an admission to the last one,
 * so the quiet time before the first and after the queue emptied does not dilute the rate.
 */
export function busyWindows(perWindow: readonly number[]): number[] {
  const first = perWindow.findIndex((n) => n > 0);
  if (first < 0) return [];
  let last = perWindow.length - 1;
  while (last > first && perWindow[last] === 0) last--;
  return perWindow.slice(first, last + 1);
}

/**
 * ETA error of each admitted visitor: actual wait − the estimated_wait_seconds it was shown at
 * `joined` (positive: it waited longer than promised). Same units as the inputs.
 */
export function etaErrors(actualWaits: ArrayLike<number>, estimatedWaits: ArrayLike<number>): Float64Array {
  if (actualWaits.length !== estimatedWaits.length) throw new RangeError('one estimate per actual wait');
  const out = new Float64Array(actualWaits.length);
  for (let i = 0; i < out.length; i++) out[i] = (actualWaits[i] as number) - (estimatedWaits[i] as number);
  return out;
}

export function absolute(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values, (v) => Math.abs(v));
}

/** A small deterministic PRNG (mulberry32), so a run's drop-outs are reproducible from --seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
