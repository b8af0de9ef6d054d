import type { Environment } from './types.js';

/** No DOM: always online and visible, no events (Node, or React Native without hooks). */
const steadyEnvironment: Environment = {
  isOnline: () => true,
  isVisible: () => true,
  subscribe: () => () => undefined,
};

/**
 * The browser's `online` / `offline` (on window) and `visibilitychange` (on document) events.
 * Guarded, so the core never needs a DOM: without `window` and `document` this is the steady
 * environment.
 */
export function defaultEnvironment(): Environment {
  if (typeof window === 'undefined' || typeof document === 'undefined' || typeof window.addEventListener !== 'function') {
    return steadyEnvironment;
  }
  return {
    isOnline: () => (typeof navigator === 'undefined' ? true : navigator.onLine !== false),
    isVisible: () => document.visibilityState !== 'hidden',
    subscribe(listener) {
      const online = () => listener('online');
      const offline = () => listener('offline');
      const visibility = () => listener(document.visibilityState === 'hidden' ? 'hidden' : 'visible');
      window.addEventListener('online', online);
      window.addEventListener('offline', offline);
      document.addEventListener('visibilitychange', visibility);
      return () => {
        window.removeEventListener('online', online);
        window.removeEventListener('offline', offline);
        document.removeEventListener('visibilitychange', visibility);
      };
    },
  };
}
