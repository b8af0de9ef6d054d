import type { StorageLike } from './types.js';

/**
 * The ticket of one queue, kept in storage so a reload or a second tab resumes the same place.
 * Stored with the position the place started at, so a progress bar survives reloads too.
 */
export interface StoredTicket {
  token: string;
  startPosition: number;
}

export interface TicketStore {
  read(): StoredTicket | undefined;
  write(ticket: StoredTicket): void;
  clear(): void;
}

/** A Map-backed `localStorage` stand-in (tests, React Native without AsyncStorage, SSR). */
export function createMemoryStorage(): StorageLike {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

/** `localStorage` when present and usable (it throws in some private modes), else memory. */
export function defaultStorage(): StorageLike {
  try {
    const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
    if (storage) {
      const probe = '__wr_probe__';
      storage.setItem(probe, '1');
      storage.removeItem(probe);
      return storage;
    }
  } catch {
    // fall through to memory
  }
  return createMemoryStorage();
}

export function createTicketStore(storage: StorageLike, key: string): TicketStore {
  return {
    read() {
      let raw: string | null;
      try {
        raw = storage.getItem(key);
      } catch {
        return undefined;
      }
      if (!raw) return undefined;
      try {
        const value = JSON.parse(raw) as Partial<StoredTicket>;
        if (typeof value.token === 'string' && value.token) {
          return { token: value.token, startPosition: Number(value.startPosition) || 0 };
        }
      } catch {
        // not JSON: a bare token written by an older version or by hand
      }
      return raw.includes('.') ? { token: raw, startPosition: 0 } : undefined;
    },
    write(ticket) {
      try {
        storage.setItem(key, JSON.stringify(ticket));
      } catch {
        // storage full or forbidden: the place still works for this page's lifetime
      }
    },
    clear() {
      try {
        storage.removeItem(key);
      } catch {
        // see write
      }
    },
  };
}
