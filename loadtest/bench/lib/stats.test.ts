import { describe, expect, it } from 'vitest';
import { percentile, perSecond, sortedCopy, summarize } from './stats.js';

describe('percentile (nearest rank)', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the smallest sample with at least p % of samples at or below it', () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 99.5)).toBe(100);
    expect(percentile(oneToHundred, 1)).toBe(1);
    expect(percentile(oneToHundred, 0)).toBe(1);
    expect(percentile(oneToHundred, 100)).toBe(100);
  });

  it('does not round a rank up through float noise', () => {
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(thousand, 99.9)).toBe(999);
    expect(percentile(thousand, 50)).toBe(500);
  });

  it('handles small and odd-sized samples', () => {
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
  });

  it('rejects empty input and p outside [0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts numerically, not as strings, before taking percentiles', () => {
    const samples = [10, 9, 100, 2, 1, 30, 4, 5, 6, 7];
    expect(Array.from(sortedCopy(samples))).toEqual([1, 2, 4, 5, 6, 7, 9, 10, 30, 100]);
    const s = summarize(samples);
    expect(s.count).toBe(10);
    expect(s.p50Ms).toBe(6);
    expect(s.p99Ms).toBe(100);
    expect(s.maxMs).toBe(100);
    expect(s.meanMs).toBeCloseTo(17.4, 10);
    expect(samples[0]).toBe(10); // the input is left as it was
  });

  it('reports no samples as NaN rather than inventing a figure', () => {
    expect(summarize([]).p50Ms).toBeNaN();
  });

  it('computes a rate per second', () => {
    expect(perSecond(5000, 2000)).toBe(2500);
    expect(perSecond(10, 0)).toBe(0);
  });
});
