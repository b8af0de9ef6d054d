/** A small typed event emitter: one handler set per event name. */
export interface Emitter<Events extends object> {
  on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): () => void;
  off<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): void;
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  const handlers = new Map<keyof Events, Set<(payload: never) => void>>();
  // No `this`: `on` and `off` are handed out as plain functions (`const { on } = room` works).
  const off: Emitter<Events>['off'] = (event, handler) => {
    handlers.get(event)?.delete(handler);
  };
  return {
    on(event, handler) {
      let set = handlers.get(event);
      if (!set) handlers.set(event, (set = new Set()));
      set.add(handler);
      return () => off(event, handler);
    },
    off,
    emit(event, payload) {
      for (const handler of [...(handlers.get(event) ?? [])]) {
        try {
          (handler as (p: typeof payload) => void)(payload);
        } catch (err) {
          // A failing listener must not break the connection logic; report it the way the
          // platform reports uncaught errors, without swallowing it.
          setTimeout(() => {
            throw err;
          }, 0);
        }
      }
    },
  };
}
