import { describe, expect, it } from 'vitest';
import { countAt, countBefore, countBetween, createTimeline, meanLevel, mergeTimelines, nextBoundary } from './timeline.js';

const spec = { epochMs: 10_000, bucketMs: 100, buckets: 50 };

describe('timeline', () => {
  it('places events in buckets and counts the ones outside', () => {
    const t = createTimeline(spec);
    countAt(t, 10_000);
    countAt(t, 10_099.9);
    countAt(t, 10_100, 3);
    countAt(t, 9_999.9);
    countAt(t, 15_000); // one past the last bucket
    expect(t.counts[0]).toBe(2);
    expect(t.counts[1]).toBe(3);
    expect(t.outside).toBe(2);
  });

  it('counts whole buckets of a window and a running total', () => {
    const t = createTimeline(spec);
    for (let ms = 10_000; ms < 15_000; ms += 10) countAt(t, ms); // 10 per bucket
    expect(countBetween(t, 10_000, 11_000)).toBe(100);
    expect(countBetween(t, 10_050, 11_050)).toBe(100); // both ends rounded down to a boundary
    expect(countBetween(t, 0, 100_000)).toBe(500);
    expect(countBefore(t, 10_500)).toBe(50);
  });

  it('merges timelines of several processes and refuses different specs', () => {
    const a = createTimeline(spec);
    const b = createTimeline(spec);
    countAt(a, 10_250, 2);
    countAt(b, 10_250, 5);
    countAt(b, 1, 1);
    const m = mergeTimelines([a, b]);
    expect(m.counts[2]).toBe(7);
    expect(m.outside).toBe(1);
    expect(a.counts[2]).toBe(2);
    expect(() => mergeTimelines([a, createTimeline({ ...spec, bucketMs: 50 })])).toThrow(RangeError);
    expect(() => mergeTimelines([])).toThrow(RangeError);
  });

  it('aligns a window start to the next boundary', () => {
    expect(nextBoundary(spec, 10_000)).toBe(10_000);
    expect(nextBoundary(spec, 10_000.1)).toBe(10_100);
    expect(nextBoundary(spec, 10_199)).toBe(10_200);
  });

  it('averages a level (ready − left) over a window', () => {
    const ready = createTimeline(spec);
    const left = createTimeline(spec);
    countAt(ready, 10_000, 100); // 100 waiting from bucket 1 on
    countAt(left, 10_500, 50); // 50 leave in bucket 5: 50 waiting from bucket 6 on
    expect(meanLevel(ready, left, 10_100, 10_600)).toBe(100); // buckets 1..5
    expect(meanLevel(ready, left, 10_600, 11_100)).toBe(50); // buckets 6..10
    expect(meanLevel(ready, left, 10_100, 11_100)).toBe(75);
    expect(meanLevel(ready, left, 10_100, 10_100)).toBeNaN();
  });

  it('rejects a bad spec', () => {
    expect(() => createTimeline({ ...spec, buckets: 0 })).toThrow(RangeError);
    expect(() => createTimeline({ ...spec, bucketMs: 0 })).toThrow(RangeError);
  });
});
