import { describe, expect, it } from 'vitest';
import {
  admissionUrl,
  createBackoff,
  createMemoryStorage,
  formatEta,
  fullJitterDelay,
  handOff,
  isTransientClose,
  pollDelayMs,
  progressPercent,
  type FetchLike,
  type WebSocketConstructor,
} from '../src/index.js';
import { createTicketStore } from '../src/ticket-store.js';

// Type-level: the platform's WebSocket and fetch fit the SDK's options as they are.
const _domWebSocket: WebSocketConstructor | undefined = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
const _fetch: FetchLike = fetch;

/** Random numbers from a fixed list, in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('full-jitter backoff', () => {
  it('draws each delay uniformly from [0, min(max, initial · 2^attempt))', () => {
    // random → 1 gives the ceiling of each attempt: 500, 1000, 2000, 4000 … capped at 5000.
    const top = createBackoff({ initialMs: 500, maxMs: 5_000, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([499, 999, 1999, 3999, 4999, 4999]);
    const none = createBackoff({ initialMs: 500, maxMs: 5_000, random: () => 0 });
    expect(Array.from({ length: 4 }, () => none.next())).toEqual([0, 0, 0, 0]);
    const half = createBackoff({ initialMs: 100, maxMs: 1_000, random: sequence(0.5, 0.25, 0.75, 0.5, 0.1) });
    expect(Array.from({ length: 5 }, () => half.next())).toEqual([50, 50, 300, 400, 100]);
  });

  it('stays within bounds for any random value, and reset starts over', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const r of [0, 0.3, 0.9999]) {
        const d = fullJitterDelay(attempt, 500, 20_000, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(20_000, 500 * 2 ** attempt));
      }
    }
    const b = createBackoff({ initialMs: 500, maxMs: 20_000, random: () => 0.999999 });
    b.next();
    b.next();
    b.next();
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(499);
  });
});

describe('polling interval', () => {
  const view = (position: number, eta: number, interval = 30) => ({
    position,
    estimated_wait_seconds: eta,
    heartbeat_interval_seconds: interval,
  });

  it('polls fast near the front, slower far back, never slower than the heartbeat interval', () => {
    const max = () => 0.999999;
    expect(pollDelayMs(view(2, 1), 1_000, max)).toBe(1_000);
    expect(pollDelayMs(view(50, 20), 1_000, max)).toBe(2_000);
    expect(pollDelayMs(view(5_000, 600), 1_000, max)).toBe(30_000);
    // The server's interval bounds it even when the caller asks for a longer minimum.
    expect(pollDelayMs(view(5_000, 600, 1), 5_000, max)).toBe(1_000);
    expect(pollDelayMs({ ...view(5_000, 600), next_heartbeat_seconds: 10 }, 1_000, max)).toBe(10_000);
  });

  it('jitters downwards only (×0.75–1)', () => {
    expect(pollDelayMs(view(5_000, 600), 1_000, () => 0)).toBe(22_500);
    for (let i = 0; i < 100; i++) {
      const d = pollDelayMs(view(5_000, 600), 1_000, Math.random);
      expect(d).toBeGreaterThanOrEqual(22_500);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });
});

describe('formatting', () => {
  it('writes the ETA for humans', () => {
    expect(formatEta(0)).toBe('any moment now');
    expect(formatEta(35)).toBe('less than a minute');
    expect(formatEta(170)).toBe('about 3 min');
    expect(formatEta(4_800)).toBe('about 1 h 20 min');
  });

  it('measures progress from the starting position to the front', () => {
    expect(progressPercent(101, 101)).toBe(0);
    expect(progressPercent(101, 51)).toBe(50);
    expect(progressPercent(101, 1)).toBe(100);
    expect(progressPercent(0, 7)).toBe(0);
  });
});

describe('token handoff', () => {
  const admission = {
    sessionToken: 'aaa.bbb.ccc',
    sessionId: 'q.1',
    redirectUrl: 'https://shop.example/checkout?from=queue#top',
    sessionExpiresAt: new Date(Date.now() + 600_000).toISOString(),
  };

  it('appends the token to the redirect URL, keeping its query and hash', () => {
    expect(admissionUrl(admission)).toBe('https://shop.example/checkout?from=queue&wr_token=aaa.bbb.ccc#top');
    expect(handOff(admission, { tokenHandoff: 'query', queryParam: 't' })).toBe('https://shop.example/checkout?from=queue&t=aaa.bbb.ccc#top');
    expect(handOff(admission, { tokenHandoff: 'none' })).toBe(admission.redirectUrl);
    // No document here: the cookie cannot be set, the plain URL is returned.
    expect(handOff(admission, { tokenHandoff: 'cookie' })).toBe(admission.redirectUrl);
  });
});

describe('ticket storage', () => {
  it('round-trips, reads a bare token, and survives a storage that throws', () => {
    const storage = createMemoryStorage();
    const tickets = createTicketStore(storage, 'k');
    expect(tickets.read()).toBeUndefined();
    tickets.write({ token: 'a.b.c', startPosition: 7 });
    expect(tickets.read()).toEqual({ token: 'a.b.c', startPosition: 7 });
    storage.setItem('k', 'x.y.z');
    expect(tickets.read()).toEqual({ token: 'x.y.z', startPosition: 0 });
    tickets.clear();
    expect(tickets.read()).toBeUndefined();

    const broken = createTicketStore(
      {
        getItem: () => {
          throw new Error('SecurityError');
        },
        setItem: () => {
          throw new Error('QuotaExceededError');
        },
        removeItem: () => undefined,
      },
      'k',
    );
    broken.write({ token: 'a.b.c', startPosition: 1 });
    expect(broken.read()).toBeUndefined();
  });
});

describe('close codes', () => {
  it('splits transient from final', () => {
    for (const code of [1001, 1006, 1011, 1012, 1013, 4008, 4029, 4503]) expect(isTransientClose(code)).toBe(true);
    for (const code of [1000, 1008, 1009, 4100, 4400, 4401, 4404, 4409, 4410]) expect(isTransientClose(code)).toBe(false);
  });
});

describe('auto token handoff', () => {
  it('uses the cookie only where it reaches the origin', async () => {
    const { cookieReachesOrigin } = await import('../src/handoff.js');
    expect(cookieReachesOrigin('https://shop.example.com/checkout', 'example.com')).toBe(true);
    expect(cookieReachesOrigin('https://example.com/', '.example.com')).toBe(true);
    expect(cookieReachesOrigin('https://shop.other.com/', 'example.com')).toBe(false);
    expect(cookieReachesOrigin('https://evil-example.com/', 'example.com')).toBe(false);
    expect(cookieReachesOrigin('https://shop.example.com/', undefined)).toBe(false);
  });
});
