import type { EventBus, EventHandler, WaitingRoomEvent } from './types.js';

/** The embedded bus: delivery inside this process, on a later microtask so publish never blocks. */
export function createMemoryEventBus(onHandlerError: (err: unknown) => void): EventBus {
  const handlers = new Set<EventHandler>();
  return {
    publish(event: WaitingRoomEvent) {
      queueMicrotask(() => {
        for (const handler of handlers) {
          try {
            handler(event);
          } catch (err) {
            onHandlerError(err);
          }
        }
      });
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    healthy: () => true,
    async close() {
      handlers.clear();
    },
  };
}
