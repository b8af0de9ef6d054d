/**
 * The endless queue for suspected bots. A suspect gets a ticket whose place exists only in the
 * ticket (claim `tp`: the position it was shown and when): its status is computed from the
 * ticket alone, so a bot costs the store nothing, never counts in the queue length, and is
 * never admitted. Its position drifts down like a real one but only approaches a floor.
 *
 * A tarpit ticket can never become a real place: its position id carries a character no store
 * id has (store calls refuse it), and every path that reads a ticket answers tarpit claims with
 * this view before it reaches the store.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { QueueConfig } from '../domain/queue.js';
import type { TarpitClaims, TokenService } from '../tokens/tokens.js';
import { waitingViewOf, type WaitingView } from '../services/waiting-view.js';

/** Seconds for the distance to the floor to halve: slow enough to look like a busy queue. */
const HALF_LIFE_SECONDS = 600;

export function newTarpitPlace(now: number): { positionId: string; claims: TarpitClaims } {
  // '_' is outside POSITION_ID_PATTERN: the store refuses this id wherever it might be passed.
  return { positionId: `_${randomBytes(6).toString('base64url').replace(/[-_]/g, 'x')}`, claims: { start: randomInt(800, 2500), since: now } };
}

/** Where a tarpitted visitor stands `now`: down towards a fifth of its start, never below. */
export function tarpitPosition(claims: TarpitClaims, now: number): number {
  const floor = Math.max(50, Math.floor(claims.start / 5));
  const elapsed = Math.max(0, now - claims.since) / 1000;
  return Math.max(floor, Math.round(floor + (claims.start - floor) * 0.5 ** (elapsed / HALF_LIFE_SECONDS)));
}

export async function tarpitView(
  tokens: TokenService,
  queue: QueueConfig,
  positionId: string,
  claims: TarpitClaims,
  now: number,
): Promise<WaitingView> {
  const ticket = await tokens.signTicket(queue.id, positionId, claims);
  const position = tarpitPosition(claims, now);
  return waitingViewOf(
    queue,
    positionId,
    {
      position,
      queueLength: position + Math.round(claims.start / 3),
      // As if admissions ran at the configured rate: plausible, and always in the future.
      estimatedWaitSeconds: Math.ceil((position / Math.max(1, queue.admission_rate_per_minute)) * 60),
    },
    ticket,
    now + queue.heartbeat_timeout_seconds * 1000,
  );
}
