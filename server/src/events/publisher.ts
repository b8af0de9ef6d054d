import { randomUUID } from 'node:crypto';
import type { EventBus, EventType, WaitingRoomEvent } from './types.js';

export type Publish = (type: EventType, queueId: string, data: Record<string, unknown>, atMs?: number) => void;

/** Builds the seed's base event around `data` and hands it to the bus (which never blocks). */
export function createPublisher(bus: EventBus, source: string): Publish {
  return (type, queueId, data, atMs) => {
    const event: WaitingRoomEvent = {
      id: randomUUID(),
      version: 1,
      type,
      timestamp: new Date(atMs ?? Date.now()).toISOString(),
      source,
      queue_id: queueId,
      data,
    };
    bus.publish(event);
  };
}
