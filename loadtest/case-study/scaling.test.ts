import { describe, expect, it } from 'vitest';
import { realCount, realPerMinute, realSeconds, scaleCase, serverTimers, wallMs } from './scaling.js';

describe('scaleCase', () => {
  it('divides durations by k and multiplies counts by s, rates by s · k', () => {
    expect(scaleCase({ time: 30, sockets: 0.1 })).toEqual({
      visitors: 10_000,
      arrivalWallSeconds: 10,
      queue: {
        max_queue_size: 5_000,
        max_active_users: 5_000,
        admission_rate_per_minute: 1_500,
        session_duration_seconds: 20,
        heartbeat_timeout_seconds: 2,
        heartbeat_interval_seconds: 1,
      },
    });
  });

  it('is the seed case itself at k = 1, s = 1', () => {
    const c = scaleCase({ time: 1, sockets: 1 });
    expect(c.visitors).toBe(100_000);
    expect(c.queue).toMatchObject({ max_queue_size: 50_000, admission_rate_per_minute: 500, session_duration_seconds: 600, heartbeat_timeout_seconds: 60, heartbeat_interval_seconds: 30 });
  });

  it('refuses scales the server cannot express', () => {
    expect(() => scaleCase({ time: 60, sockets: 0.1 })).toThrow(/k ≤ 30/); // 1 s timeout, interval must be below
    expect(() => scaleCase({ time: 7, sockets: 0.1 })).toThrow(/whole seconds/); // 60 / 7
    expect(() => scaleCase({ time: 30, sockets: 0.0001 })).toThrow(/whole number/); // 1.5 admissions/min
    expect(() => scaleCase({ time: 30, sockets: 0 })).toThrow(/--scale/);
    expect(() => scaleCase({ time: 0.5, sockets: 0.1 })).toThrow(/--time-scale/);
  });
});

describe('mapping back', () => {
  const scale = { time: 30, sockets: 0.1 };
  it('wall time × k, counts ÷ s', () => {
    expect(realSeconds(2_000, scale)).toBe(60);
    expect(wallMs(60, scale)).toBe(2_000);
    expect(realCount(50, scale)).toBe(500);
  });

  it('the server’s scaled rate maps back to 500 per real minute', () => {
    const { queue } = scaleCase(scale);
    // One wall minute at the configured rate is k real minutes.
    expect(realPerMinute(queue.admission_rate_per_minute, 60_000, scale)).toBeCloseTo(500, 9);
  });

  it('server timers shrink with k but never below their floors', () => {
    expect(serverTimers({ time: 30, sockets: 1 })).toEqual({ ADMISSION_TICK_MS: 50, SWEEP_INTERVAL_MS: 100, POSITION_TICK_MS: 1_000 });
    expect(serverTimers({ time: 2, sockets: 1 })).toEqual({ ADMISSION_TICK_MS: 125, SWEEP_INTERVAL_MS: 500, POSITION_TICK_MS: 1_000 });
  });
});
