import { describe, expect, it } from 'vitest';
import { countAt, createTimeline } from '../lib/timeline.js';
import { absolute, busyWindows, etaErrors, peak, seededRandom, spread, windowCounts } from './stats.js';

describe('spread', () => {
  it('mean and nearest-rank percentiles', () => {
    const s = spread([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
    expect(s).toEqual({ count: 10, mean: 5.5, p50: 5, p90: 9, max: 10 });
  });
  it('NaN for no samples', () => {
    expect(spread([]).mean).toBeNaN();
  });
});

describe('windowCounts', () => {
  it('sums whole windows of buckets and leaves out the partial last one', () => {
    const t = createTimeline({ epochMs: 1_000, bucketMs: 100, buckets: 100 });
    for (const at of [1_000, 1_150, 1_999, 2_000, 2_500, 3_100]) countAt(t, at);
    expect(windowCounts(t, 1_000, 1_000 + 3_500)).toEqual([3, 2, 1]);
    expect(windowCounts(t, 1_000, 1_000 + 2_999)).toEqual([3, 2]);
  });
  it('refuses windows that cut buckets', () => {
    const t = createTimeline({ epochMs: 0, bucketMs: 100, buckets: 10 });
    expect(() => windowCounts(t, 150, 1_000)).toThrow(/whole number/);
  });
});

describe('busyWindows', () => {
  it('drops the quiet windows before the first and after the last admission', () => {
    expect(busyWindows([0, 0, 5, 0, 6, 0, 0])).toEqual([5, 0, 6]);
    expect(busyWindows([0, 0])).toEqual([]);
  });
});

describe('ETA error', () => {
  it('is actual − estimated, positive when the visitor waited longer', () => {
    expect(Array.from(etaErrors([100, 50, 30], [90, 60, 30]))).toEqual([10, -10, 0]);
    expect(Array.from(absolute(etaErrors([100, 50], [90, 60])))).toEqual([10, 10]);
    expect(() => etaErrors([1, 2], [1])).toThrow();
  });
});

describe('peak', () => {
  it('the largest sample of a field', () => {
    const samples = [
      { atMs: 0, queueLength: 3, activeSessions: 9, admitted: 0, expired: 0 },
      { atMs: 1, queueLength: 7, activeSessions: 2, admitted: 0, expired: 0 },
    ];
    expect(peak(samples, 'queueLength')).toBe(7);
    expect(peak(samples, 'activeSessions')).toBe(9);
  });
});

describe('seededRandom', () => {
  it('repeats for one seed, differs between seeds, stays in [0, 1)', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const c = seededRandom(2);
    const xs = Array.from({ length: 1_000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1_000 }, () => b()));
    expect(xs.slice(0, 5)).not.toEqual(Array.from({ length: 5 }, () => c()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
