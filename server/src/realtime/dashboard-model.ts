/**
 * The dashboard's arithmetic, pure: socket counts aggregated from the nodes' reports, rates
 * from store totals, the chart series from history samples, and one queue's view. The feed
 * (dashboard-feed.ts) does the I/O; docs/DASHBOARD.md explains where each figure comes from.
 */
import { estimateWaitSeconds, measuredRatePerMinute } from '../domain/admission.js';
import type { QueueConfig, QueueStatus } from '../domain/queue.js';
import type { HistorySample, QueueCounts } from '../store/types.js';

/** A rate needs at least this much time between its two readings. */
export const MIN_RATE_SPAN_MS = 2_000;
/** The "pace" figure: admissions per minute over about the last ten seconds. */
export const PACE_WINDOW_MS = 10_000;
/** Joins and expiries per minute: over the last minute. */
export const MINUTE_MS = 60_000;

/**
 * Open sockets per queue across nodes. Each node reports its own count per queue now and then
 * (`queue.sockets` events); a report stands until its TTL runs out, so a node that died drops
 * out by itself. Times are this node's clock: each report's expiry is set on arrival.
 */
export function createSocketCounts() {
  const byQueue = new Map<string, Map<string, { sockets: number; expiresAt: number }>>();
  return {
    report(queueId: string, node: string, sockets: number, expiresAt: number) {
      let nodes = byQueue.get(queueId);
      if (!nodes) byQueue.set(queueId, (nodes = new Map()));
      if (sockets > 0) nodes.set(node, { sockets, expiresAt });
      else nodes.delete(node);
      if (nodes.size === 0) byQueue.delete(queueId);
    },
    /** Sum of the live reports for a queue, and how many nodes they come from. */
    total(queueId: string, now: number): { sockets: number; nodes: number } {
      let sockets = 0;
      let nodes = 0;
      for (const [node, r] of byQueue.get(queueId) ?? []) {
        if (r.expiresAt <= now) {
          byQueue.get(queueId)?.delete(node);
          continue;
        }
        sockets += r.sockets;
        nodes++;
      }
      return { sockets, nodes };
    },
  };
}
export type SocketCounts = ReturnType<typeof createSocketCounts>;

/** A reading of a queue's ever-growing totals at a store time. */
export interface TotalsReading {
  at: number;
  totalEnqueued: number;
  totalAdmitted: number;
  totalExpired: number;
}

/**
 * How fast a total grew over about the last `windowMs`, per minute: against the oldest reading
 * inside the window (or, when there is none, the newest one before it), at least
 * MIN_RATE_SPAN_MS back. Null without such a reading.
 */
export function ratePerMinute(
  readings: readonly TotalsReading[],
  current: TotalsReading,
  pick: (r: TotalsReading) => number,
  windowMs: number,
): number | null {
  let inside: TotalsReading | undefined;
  let before: TotalsReading | undefined;
  for (const r of readings) {
    if (r.at > current.at - MIN_RATE_SPAN_MS) continue;
    if (r.at >= current.at - windowMs) {
      if (!inside || r.at < inside.at) inside = r;
    } else if (!before || r.at > before.at) {
      before = r;
    }
  }
  const ref = inside ?? before;
  if (!ref) return null;
  const grown = Math.max(0, pick(current) - pick(ref));
  return Math.round(((grown * MINUTE_MS) / (current.at - ref.at)) * 10) / 10;
}

/** One point of the charts: the queue at `at`, and the admissions per minute since the point before. */
export interface ChartPoint {
  at: number;
  waiting: number;
  active: number;
  sockets: number;
  /** null for the first point (nothing to compare with). */
  admissions_per_minute: number | null;
  admission_rate_per_minute: number;
  status: QueueStatus;
  /** The sample before it is missing (no node recorded for a while): charts break the line here. */
  gap: boolean;
}

/**
 * Chart points from history samples (oldest first). `previous` is the sample before the first
 * one, when the caller has it (appending to a series already sent). A gap is more than
 * 2.5 buckets between samples.
 */
export function chartPoints(samples: readonly HistorySample[], bucketMs: number, previous?: HistorySample): ChartPoint[] {
  const points: ChartPoint[] = [];
  let before = previous;
  for (const s of samples) {
    const span = before ? s.at - before.at : 0;
    points.push({
      at: s.at,
      waiting: s.waiting,
      active: s.active,
      sockets: s.sockets,
      admissions_per_minute:
        before && span > 0 ? Math.round((Math.max(0, s.totalAdmitted - before.totalAdmitted) * MINUTE_MS * 10) / span) / 10 : null,
      admission_rate_per_minute: s.admissionRatePerMinute,
      status: s.status,
      gap: before !== undefined && span > bucketMs * 2.5,
    });
    before = s;
  }
  return points;
}

/** Keeps the readings of the last `keepMs` (oldest first), dropping older ones. */
export function trimReadings<T extends { at: number }>(readings: T[], now: number, keepMs: number): T[] {
  const first = readings.findIndex((r) => r.at >= now - keepMs);
  return first < 0 ? [] : first === 0 ? readings : readings.slice(first);
}

/** What the dashboard shows of one queue, as sent to the page (snake_case, like the REST API). */
export interface QueueView {
  queue_id: string;
  name: string;
  status: QueueStatus;
  admission_rate_per_minute: number;
  max_active_users: number;
  max_queue_size: number;
  waiting: number;
  active_sessions: number;
  connected_sockets: number;
  /** Nodes whose socket reports are counted. */
  socket_nodes: number;
  /** Exact: admissions in the last 60 s (the store's admission log). */
  admitted_last_minute: number;
  /** Admissions per minute over about the last 10 s: shows a pause or a rate change at once. */
  admission_pace_per_minute: number | null;
  joins_per_minute: number | null;
  expiries_per_minute: number | null;
  /** Seconds a visitor joining now would wait; null while the queue does not admit. */
  eta_seconds_for_new_visitor: number | null;
  totals: { enqueued: number; admitted: number; expired: number; cancelled: number; sessions_ended: number };
  at: number;
}

export function queueView(
  config: QueueConfig,
  counts: QueueCounts,
  sockets: { sockets: number; nodes: number },
  readings: readonly TotalsReading[],
): QueueView {
  const current: TotalsReading = {
    at: counts.now,
    totalEnqueued: counts.totalEnqueued,
    totalAdmitted: counts.totalAdmitted,
    totalExpired: counts.totalExpired,
  };
  const measured = measuredRatePerMinute(
    counts.admittedInWindow,
    counts.oldestAdmissionInWindow,
    counts.now,
    config.admission_rate_per_minute,
  );
  return {
    queue_id: config.id,
    name: config.name,
    status: config.status,
    admission_rate_per_minute: config.admission_rate_per_minute,
    max_active_users: config.max_active_users,
    max_queue_size: config.max_queue_size,
    waiting: counts.waiting,
    active_sessions: counts.active,
    connected_sockets: sockets.sockets,
    socket_nodes: sockets.nodes,
    admitted_last_minute: counts.admittedInWindow,
    admission_pace_per_minute: ratePerMinute(readings, current, (r) => r.totalAdmitted, PACE_WINDOW_MS),
    joins_per_minute: ratePerMinute(readings, current, (r) => r.totalEnqueued, MINUTE_MS),
    expiries_per_minute: ratePerMinute(readings, current, (r) => r.totalExpired, MINUTE_MS),
    eta_seconds_for_new_visitor: config.status === 'active' ? estimateWaitSeconds(counts.waiting + 1, measured) : null,
    totals: {
      enqueued: counts.totalEnqueued,
      admitted: counts.totalAdmitted,
      expired: counts.totalExpired,
      cancelled: counts.totalCancelled,
      sessions_ended: counts.totalSessionsEnded,
    },
    at: counts.now,
  };
}
