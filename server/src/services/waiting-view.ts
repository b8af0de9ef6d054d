import type { QueueConfig } from '../domain/queue.js';
import type { JoinedData } from '../../../client-sdk/src/protocol.js';

/** The wire view of a waiting place (DESIGN §4): REST responses and the socket's `joined`. */
export type WaitingView = Omit<JoinedData, 'resumed'>;

/** What a waiting visitor is shown, however it was worked out (the store, or a tarpit ticket). */
export interface ShownWait {
  position: number;
  queueLength: number;
  estimatedWaitSeconds: number;
}

/** One builder, so a tarpitted bot's view cannot drift apart from a real visitor's. */
export function waitingViewOf(
  queue: QueueConfig,
  positionId: string,
  shown: ShownWait,
  ticket: { token: string; expiresAt: number },
  /** When the place lapses without a heartbeat (ms since the epoch). */
  placeExpiresAt: number,
): WaitingView {
  return {
    position_id: positionId,
    queue_id: queue.id,
    position: shown.position,
    queue_length: shown.queueLength,
    estimated_wait_seconds: shown.estimatedWaitSeconds,
    status: 'waiting',
    admitted: false,
    token: ticket.token,
    token_expires_at: new Date(ticket.expiresAt).toISOString(),
    heartbeat_interval_seconds: queue.heartbeat_interval_seconds,
    heartbeat_timeout_seconds: queue.heartbeat_timeout_seconds,
    expires_at: new Date(placeExpiresAt).toISOString(),
  };
}
