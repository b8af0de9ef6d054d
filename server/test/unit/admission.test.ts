import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admissibleCount,
  bucketCapacity,
  estimateWaitSeconds,
  measuredRatePerMinute,
  refillBucket,
} from '../../src/domain/admission.js';

describe('admission maths', () => {
  it('the bucket holds two seconds of admissions, at least one', () => {
    expect(bucketCapacity(500)).toBeCloseTo(16.667, 2);
    expect(bucketCapacity(6)).toBe(1);
  });

  it('refills at the rate and never past the capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 600_000 }), (rate, elapsed) => {
        const b = refillBucket({ tokens: 0, updatedAt: 1_000 }, rate, 1_000 + elapsed);
        expect(b.tokens).toBeLessThanOrEqual(bucketCapacity(rate) + 1e-9);
        expect(b.tokens).toBeCloseTo(Math.min(bucketCapacity(rate), (elapsed * rate) / 60_000), 6);
      }),
    );
  });

  it('admits the least of every limit', () => {
    const base = { tokens: 10.7, ratePerMinute: 500, admittedInWindow: 0, maxActive: 100, active: 0, waiting: 50, maxBatch: 1000 };
    expect(admissibleCount(base)).toBe(10);
    expect(admissibleCount({ ...base, admittedInWindow: 495 })).toBe(5);
    expect(admissibleCount({ ...base, active: 98 })).toBe(2);
    expect(admissibleCount({ ...base, waiting: 3 })).toBe(3);
    expect(admissibleCount({ ...base, active: 120 })).toBe(0);
  });

  it('measures the achieved rate, never above the configured one', () => {
    expect(measuredRatePerMinute(2, 0, 10_000, 500)).toBe(500);
    expect(measuredRatePerMinute(100, 0, 60_000, 500)).toBe(100);
    expect(measuredRatePerMinute(100, 0, 6_000, 500)).toBe(500);
    // The first seconds of admissions (12 in 1.5 s at 500/min) say too little: the configured rate,
    // not 12 over a padded span (144/min, an ETA 3.5 times too long).
    expect(measuredRatePerMinute(12, 0, 1_500, 500)).toBe(500);
    // A stop shows once five seconds of history exist: 10 admitted, none in the last 7 s.
    expect(measuredRatePerMinute(10, 0, 8_000, 500)).toBe(75);
  });

  it('estimates the wait from the position and the rate', () => {
    expect(estimateWaitSeconds(500, 500)).toBe(60);
    expect(estimateWaitSeconds(1, 500)).toBe(1);
    expect(estimateWaitSeconds(0, 500)).toBe(0);
  });
});
