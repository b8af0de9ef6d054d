import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultQueueSettings, type QueueConfig, type QueueEvent } from '../../src/domain/queue.js';
import { DRAW_SPAN, drawKey, effectiveMode, eventPhase, shownPlace } from '../../src/domain/schedule.js';

const T = Date.parse('2030-05-01T18:00:00Z');
const event: QueueEvent = {
  prequeue_starts_at: new Date(T - 3_600_000).toISOString(),
  starts_at: new Date(T).toISOString(),
  ends_at: new Date(T + 7_200_000).toISOString(),
  queueing_method: 'random',
  admission_rate_per_minute: 2_000,
  max_active_users: null,
  shuffle_prequeue: true,
  seed: 'ab'.repeat(32),
  seed_commitment: '',
};
const config: QueueConfig = {
  id: 'q',
  ...defaultQueueSettings('q', 'https://shop.example/'),
  queueing_method: 'reject',
  event,
  created_at: '',
  updated_at: '',
};

describe('scheduled events', () => {
  it('moves through its phases by the clock, at the exact boundaries', () => {
    expect(eventPhase({ event: null }, T)).toBe('none');
    expect(eventPhase(config, T - 3_600_001)).toBe('before');
    expect(eventPhase(config, T - 3_600_000)).toBe('prequeue');
    expect(eventPhase(config, T - 1)).toBe('prequeue');
    expect(eventPhase(config, T)).toBe('live');
    expect(eventPhase(config, T + 7_199_999)).toBe('live');
    expect(eventPhase(config, T + 7_200_000)).toBe('after');
  });

  it('holds everyone in the pre-queue and lets the live event override method and limits', () => {
    expect(effectiveMode(config, T - 1)).toMatchObject({ method: 'queue_all', drawArrivals: true, ratePerMinute: 500 });
    expect(effectiveMode(config, T)).toMatchObject({ method: 'random', ratePerMinute: 2_000, maxActive: 50_000, drawArrivals: false });
    expect(effectiveMode(config, T + 7_200_000)).toMatchObject({ method: 'reject', ratePerMinute: 500 });
    expect(effectiveMode({ ...config, event: { ...event, shuffle_prequeue: false } }, T - 1).drawArrivals).toBe(false);
  });

  it('hides places during a shuffled pre-queue only', () => {
    expect(shownPlace(config, T - 10_000, 3, 40)).toEqual({ position: 40, waitUntilStartSeconds: 10 });
    expect(shownPlace(config, T, 3, 40)).toEqual({ position: 3, waitUntilStartSeconds: 0 });
    expect(shownPlace({ event: { ...event, shuffle_prequeue: false } }, T - 10_000, 3, 40).position).toBe(3);
  });

  it('draw keys are the documented HMAC: 39 bits, the same for anyone who has the seed', () => {
    const mac = createHmac('sha256', Buffer.from(event.seed, 'hex')).update('2s').digest();
    expect(drawKey(event.seed, '2s')).toBe(Math.floor(mac.readUIntBE(0, 5) / 2));
    const keys = ['1', '2', '3', 'zz', '10a'].map((id) => drawKey(event.seed, id));
    for (const k of keys) expect(Number.isSafeInteger(k) && k >= 0 && k < DRAW_SPAN).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    expect(drawKey('cd'.repeat(32), '2s')).not.toBe(drawKey(event.seed, '2s'));
  });
});
