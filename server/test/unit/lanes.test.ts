import { describe, expect, it } from 'vitest';
import { LOTTERY_MODULUS, lotteryIndex, nextLottery, pickLane, type LaneState } from '../../src/domain/admission.js';

const fresh = (): LaneState => ({ pass: [0, 0, 0, 0], vt: 0 });

/** Admits `n` from lanes with the given waiting counts; returns how many each lane got. */
function run(counts: number[], weights: number[] | null, share: number, n: number, state = fresh()): number[] {
  const got = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const lane = pickLane(counts, weights, share, state);
    if (lane < 0) break;
    counts[lane] = (counts[lane] as number) - 1;
    got[lane] = (got[lane] as number) + 1;
  }
  return got;
}

describe('lane choice', () => {
  it('strict priority: higher lanes first, lane 0 only when they are empty', () => {
    expect(run([5, 0, 2, 3], null, 0, 7)).toEqual([2, 0, 2, 3]);
  });

  it('weights: each waiting lane gets its weight share, within one admission', () => {
    for (const n of [10, 97, 1_000]) {
      const got = run([n, n, n, n], [1, 2, 3, 4], 0, n);
      got.forEach((g, lane) => expect(Math.abs(g - (n * (lane + 1)) / 10)).toBeLessThanOrEqual(1));
    }
  });

  it("lane 0's minimum share holds however heavy the other weights", () => {
    const got = run([1_000, 1_000, 0, 1_000], [1, 500, 1, 1_000], 0.3, 1_000);
    expect(got[0]).toBeGreaterThanOrEqual(299);
    expect(got[0]).toBeLessThanOrEqual(301);
    expect(run([1_000, 0, 0, 1_000], [1, 1, 1, 1_000], 0, 1_000)[0]).toBeLessThanOrEqual(1);
  });

  it('a lane that was empty rejoins at the current virtual time: no burst for idling', () => {
    const state = fresh();
    run([0, 0, 0, 500], [1, 1, 1, 1], 0, 300, state); // lane 0 idle while lane 3 is served
    const got = run([100, 0, 0, 100], [1, 1, 1, 1], 0, 20, state);
    expect(got).toEqual([10, 0, 0, 10]);
  });

  it('the lottery stays in range and never repeats a state in a step', () => {
    let s = 42;
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      s = nextLottery(s);
      expect(s > 0 && s < LOTTERY_MODULUS).toBe(true);
      expect(seen.has(s)).toBe(false);
      seen.add(s);
      const index = lotteryIndex(s, 7);
      expect(index >= 0 && index < 7).toBe(true);
    }
  });
});
