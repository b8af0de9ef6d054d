import { describe, expect, it } from 'vitest';
import { MAX_SHARDS_PER_SWEEP, SWEEP_STEPS_PER_CYCLE, planSweep } from './sweep-plan.js';

describe('planSweep', () => {
  it('has nothing to sweep before any id block is reserved', () => {
    expect(planSweep({ cursor: null, low: null, high: null })).toEqual([]);
  });

  it('starts at low and takes one step per shard while there are few shards', () => {
    expect(planSweep({ cursor: null, low: null, high: 3 })).toEqual([0]);
    expect(planSweep({ cursor: 2, low: 1, high: 3 })).toEqual([2]);
  });

  it('covers low..high in about eight steps, continuing at the cursor', () => {
    const plan = { low: 100, high: 899 };
    const visited: number[] = [];
    let cursor: number | null = null;
    for (let step = 0; step < SWEEP_STEPS_PER_CYCLE; step++) {
      const shards = planSweep({ cursor, ...plan });
      visited.push(...shards);
      cursor = (shards.at(-1) as number) + 1;
    }
    expect(visited).toEqual(Array.from({ length: 800 }, (_, i) => 100 + i));
  });

  it('restarts at low when the cursor is out of range, and caps the batch', () => {
    expect(planSweep({ cursor: 50, low: 5, high: 9 })).toEqual([5]);
    expect(planSweep({ cursor: 1, low: 5, high: 9 })).toEqual([5]);
    const big = planSweep({ cursor: null, low: 0, high: 1_000_000 });
    expect(big).toHaveLength(MAX_SHARDS_PER_SWEEP);
    expect(big[0]).toBe(0);
  });
});
