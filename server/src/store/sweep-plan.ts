/**
 * Which heartbeat shards one sweep step visits. Shards are the id blocks low..high (high = the
 * highest block reserved); each step continues at the stored cursor and takes enough shards
 * that a full cycle takes about SWEEP_STEPS_PER_CYCLE steps, so the cost of one step stays
 * bounded however many visitors wait, while every deadline is checked once per cycle.
 */

export const SWEEP_STEPS_PER_CYCLE = 8;
export const MAX_SHARDS_PER_SWEEP = 256;

export interface SweepCursor {
  /** Next shard to visit; null before the first sweep. */
  cursor: number | null;
  /** Lowest shard that may still hold deadlines; null before the first sweep. */
  low: number | null;
  /** Highest shard in use; null while no id block was ever reserved. */
  high: number | null;
}

/** Ascending shard indexes for the next step; empty when there is nothing to sweep. */
export function planSweep({ cursor, low, high }: SweepCursor): number[] {
  if (high === null || high < 0) return [];
  const from = Math.min(Math.max(low ?? 0, 0), high);
  const start = cursor === null || cursor < from || cursor > high ? from : cursor;
  const size = Math.min(MAX_SHARDS_PER_SWEEP, Math.max(1, Math.ceil((high - from + 1) / SWEEP_STEPS_PER_CYCLE)));
  const shards: number[] = [];
  for (let shard = start; shard <= Math.min(high, start + size - 1); shard++) shards.push(shard);
  return shards;
}
