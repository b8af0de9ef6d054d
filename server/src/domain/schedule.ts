/**
 * Scheduled events and the queueing method in force at a given time. Pure: the stores (the
 * memory store as is, the Lua scripts in includes/queue-mode.lua) and the views apply it to the
 * store's clock, so an event starts and ends by itself on every node at the same instant.
 */
import { createHmac } from 'node:crypto';
import type { QueueConfig, QueueingMethod } from './queue.js';

export type EventPhase = 'none' | 'before' | 'prequeue' | 'live' | 'after';

export function eventPhase(config: Pick<QueueConfig, 'event'>, now: number): EventPhase {
  const e = config.event;
  if (!e) return 'none';
  if (now < Date.parse(e.prequeue_starts_at)) return 'before';
  if (now < Date.parse(e.starts_at)) return 'prequeue';
  if (now < Date.parse(e.ends_at)) return 'live';
  return 'after';
}

export interface EffectiveMode {
  phase: EventPhase;
  method: QueueingMethod;
  ratePerMinute: number;
  maxActive: number;
  /** Arrivals now get a draw key instead of their arrival order. */
  drawArrivals: boolean;
}

/** The pre-queue holds everyone; the live event overrides the queue's method and limits. */
export function effectiveMode(config: QueueConfig, now: number): EffectiveMode {
  const phase = eventPhase(config, now);
  const e = config.event;
  const base = {
    phase,
    method: config.queueing_method,
    ratePerMinute: config.admission_rate_per_minute,
    maxActive: config.max_active_users,
    drawArrivals: false,
  };
  if (phase === 'prequeue') return { ...base, method: 'queue_all', drawArrivals: e?.shuffle_prequeue ?? false };
  if (phase === 'live' && e) {
    return {
      ...base,
      method: e.queueing_method ?? base.method,
      ratePerMinute: e.admission_rate_per_minute ?? base.ratePerMinute,
      maxActive: e.max_active_users ?? base.maxActive,
    };
  }
  return base;
}

/**
 * Draw keys take DRAW_KEY_BITS bits: inside a lane a drawn arrival scores
 * `laneBase - DRAW_SPAN + key`, below every arrival-order score (laneBase + seq) of the lane.
 */
export const DRAW_KEY_BITS = 39;
export const DRAW_SPAN = 2 ** DRAW_KEY_BITS;

/**
 * The pre-queue order: the first 39 bits of HMAC-SHA256(seed, position id) as an integer, lower
 * first (ties by position id). Anyone with the revealed seed and the published ids recomputes it.
 */
export function drawKey(seedHex: string, positionId: string): number {
  const mac = createHmac('sha256', Buffer.from(seedHex, 'hex')).update(positionId).digest();
  // 5 bytes = 40 bits, shifted down by one: exact in a double.
  return Math.floor(mac.readUIntBE(0, 5) / 2);
}

/**
 * What a visitor is shown. During a shuffled pre-queue the order is fixed by the secret seed, so
 * showing a place would leak the draw (and invite leaving and rejoining for a better one): every
 * visitor is shown as the last of those waiting, and the wait includes the time until the start.
 */
export function shownPlace(
  config: Pick<QueueConfig, 'event'>,
  now: number,
  position: number,
  queueLength: number,
): { position: number; waitUntilStartSeconds: number } {
  const untilStart = hiddenPlaceWaitSeconds(config, now);
  if (untilStart === null) return { position, waitUntilStartSeconds: 0 };
  return { position: Math.max(position, queueLength), waitUntilStartSeconds: untilStart };
}

/**
 * While a shuffled pre-queue hides places (shownPlace): the seconds until the start; else null.
 * One call serves a whole queue's visitors (the broadcaster's tick).
 */
export function hiddenPlaceWaitSeconds(config: Pick<QueueConfig, 'event'>, now: number): number | null {
  const e = config.event;
  if (!e || !e.shuffle_prequeue || eventPhase(config, now) !== 'prequeue') return null;
  return Math.ceil((Date.parse(e.starts_at) - now) / 1000);
}
