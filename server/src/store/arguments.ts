/**
 * Argument checks both stores share, so a bad call fails the same way on either (and before a
 * Redis round-trip). They guard programming errors; user input is validated at the edge.
 */
import { MAX_LANE } from '../domain/queue.js';

export function assertLane(lane: number): void {
  if (!Number.isInteger(lane) || lane < 0 || lane > MAX_LANE) throw new RangeError(`invalid lane: ${lane}`);
}

export function assertMaxBatch(maxBatch: number): void {
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 0) throw new RangeError(`invalid max batch: ${maxBatch}`);
}
