/**
 * The event bus seam. Domain code publishes through it and never sees NATS; the in-process
 * implementation serves the embedded mode, JetStream the distributed one.
 */

export const EVENT_TYPES = [
  'position.enqueued',
  'position.admitted',
  'position.expired',
  'position.cancelled',
  'session.started',
  'session.expired',
  'session.terminated',
  'session.renewed',
  'queue.created',
  'queue.updated',
  'queue.paused',
  'queue.resumed',
  // What the broadcaster needs: one per change of a queue's wait set, in store-version order.
  'queue.progress',
  // What the dashboard needs: each node's open sockets in a queue, now and then (dashboard-feed.ts).
  'queue.sockets',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** `waitingroom.<entity>.<action>.v1`, as the seed names them. */
export function subjectOf(type: EventType): string {
  return `waitingroom.${type}.v1`;
}

export interface WaitingRoomEvent {
  id: string;
  version: 1;
  type: EventType;
  /** RFC 3339, from the store's clock where the change happened there. */
  timestamp: string;
  /** The node that published it. */
  source: string;
  queue_id: string;
  data: Record<string, unknown>;
}

export type EventHandler = (event: WaitingRoomEvent) => void;

export interface EventBus {
  /** Never blocks the caller and never throws: failures are counted and logged. */
  publish(event: WaitingRoomEvent): void;
  /** Every event, in publish order per publisher. Returns the unsubscribe function. */
  subscribe(handler: EventHandler): () => void;
  /** Is the bus usable? (health) */
  healthy(): boolean;
  close(): Promise<void>;
}
