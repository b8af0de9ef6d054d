/**
 * Latency statistics for the benchmarks. Percentiles are exact (nearest rank over every recorded
 * sample, sorted), not estimated from histograms: a run records at most a few hundred thousand
 * samples, which sorts in milliseconds.
 */

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** A sorted copy; a Float64Array sorts numerically (no comparator, no string compare). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * The nearest-rank percentile of an ascending array: the smallest sample such that at least p %
 * of all samples are ≤ it. p in [0, 100]; p = 0 is the minimum, p = 100 the maximum.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile out of range: ${p}`);
  // p * n / 100 keeps integer maths exact for integer p; the epsilon absorbs float noise such as
  // 99.9 * 1000 / 100 = 999.0000000000001, which would otherwise round one rank up.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9)));
  return sorted[rank - 1] as number;
}

export function summarize(latenciesMs: ArrayLike<number>): LatencySummary {
  const sorted = sortedCopy(latenciesMs);
  if (sorted.length === 0) return { count: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: percentile(sorted, 100),
    meanMs: sum / sorted.length,
  };
}

export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

/** Rounds for reports: enough digits to compare runs, none that pretend more precision. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
