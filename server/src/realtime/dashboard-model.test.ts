import { describe, expect, it } from 'vitest';
import { defaultQueueSettings, type QueueConfig } from '../domain/queue.js';
import type { HistorySample, QueueCounts } from '../store/types.js';
import { chartPoints, createSocketCounts, queueView, ratePerMinute, trimReadings, type TotalsReading } from './dashboard-model.js';

const reading = (at: number, admitted: number, enqueued = 0, expired = 0): TotalsReading => ({
  at,
  totalAdmitted: admitted,
  totalEnqueued: enqueued,
  totalExpired: expired,
});

const sample = (at: number, admitted: number, over: Partial<HistorySample> = {}): HistorySample => ({
  at,
  waiting: 10,
  active: 0,
  sockets: 0,
  totalEnqueued: 0,
  totalAdmitted: admitted,
  totalExpired: 0,
  totalCancelled: 0,
  totalSessionsEnded: 0,
  admissionRatePerMinute: 60,
  status: 'active',
  ...over,
});

describe('socket counts across nodes', () => {
  it('adds up the live report of each node, replacing a node’s older report', () => {
    const counts = createSocketCounts();
    counts.report('q', 'node-a', 10, 1_000);
    counts.report('q', 'node-b', 5, 1_000);
    counts.report('q', 'node-a', 7, 1_000); // newer report of the same node replaces it
    counts.report('other', 'node-a', 99, 1_000);
    expect(counts.total('q', 500)).toEqual({ sockets: 12, nodes: 2 });
  });

  it('drops a node whose report ran out (it died) and one that reported zero (it drained)', () => {
    const counts = createSocketCounts();
    counts.report('q', 'node-a', 10, 1_000);
    counts.report('q', 'node-b', 5, 2_000);
    expect(counts.total('q', 1_000)).toEqual({ sockets: 5, nodes: 1 });
    counts.report('q', 'node-b', 0, 3_000);
    expect(counts.total('q', 1_000)).toEqual({ sockets: 0, nodes: 0 });
    expect(counts.total('unknown', 0)).toEqual({ sockets: 0, nodes: 0 });
  });
});

describe('rates from store totals', () => {
  const admitted = (r: TotalsReading) => r.totalAdmitted;

  it('measures against the oldest reading inside the window', () => {
    const readings = [reading(0, 0), reading(50_000, 100), reading(55_000, 110)];
    // Window 10 s back from 60 s: readings at 50 s and 55 s are inside; the oldest (50 s) is used.
    expect(ratePerMinute(readings, reading(60_000, 120), admitted, 10_000)).toBe(120);
  });

  it('falls back to the newest reading before the window when none is inside', () => {
    const readings = [reading(0, 0), reading(30_000, 30)];
    expect(ratePerMinute(readings, reading(60_000, 90), admitted, 10_000)).toBe(120);
  });

  it('ignores readings less than two seconds old, and says null without any other', () => {
    expect(ratePerMinute([reading(59_000, 80)], reading(60_000, 90), admitted, 10_000)).toBeNull();
    expect(ratePerMinute([], reading(60_000, 90), admitted, 10_000)).toBeNull();
  });

  it('shows a stop at once: no growth over the window is zero', () => {
    const readings = [reading(40_000, 100), reading(51_000, 130)];
    expect(ratePerMinute(readings, reading(60_000, 130), admitted, 10_000)).toBe(0);
  });

  it('never goes negative (a total read from a lagging replica, say)', () => {
    expect(ratePerMinute([reading(50_000, 100)], reading(60_000, 90), admitted, 10_000)).toBe(0);
  });
});

describe('chart points from history samples', () => {
  it('turns totals into admissions per minute between samples', () => {
    const points = chartPoints([sample(0, 0), sample(5_000, 5), sample(10_000, 5, { status: 'paused' })], 5_000);
    expect(points.map((p) => p.admissions_per_minute)).toEqual([null, 60, 0]);
    expect(points.map((p) => p.status)).toEqual(['active', 'active', 'paused']);
    expect(points.every((p) => !p.gap)).toBe(true);
  });

  it('continues from the sample before when appending', () => {
    const points = chartPoints([sample(10_000, 20)], 5_000, sample(5_000, 10));
    expect(points).toHaveLength(1);
    expect(points[0]!.admissions_per_minute).toBe(120);
  });

  it('marks a gap where no node recorded for a while, and averages across it', () => {
    const points = chartPoints([sample(0, 0), sample(60_000, 30)], 5_000);
    expect(points[1]!.gap).toBe(true);
    expect(points[1]!.admissions_per_minute).toBe(30);
  });

  it('keeps only the window asked for', () => {
    const readings = [reading(0, 0), reading(10_000, 1), reading(20_000, 2)];
    expect(trimReadings(readings, 25_000, 15_000).map((r) => r.at)).toEqual([10_000, 20_000]);
    expect(trimReadings(readings, 100_000, 15_000)).toEqual([]);
    expect(trimReadings(readings, 20_000, 60_000)).toBe(readings);
  });
});

describe('queue view', () => {
  const config = (over: Partial<QueueConfig> = {}): QueueConfig => ({
    ...defaultQueueSettings('q', 'https://shop.example/'),
    id: 'q',
    created_at: '',
    updated_at: '',
    admission_rate_per_minute: 60,
    ...over,
  });
  const counts = (over: Partial<QueueCounts> = {}): QueueCounts => ({
    waiting: 59,
    active: 3,
    admittedInWindow: 30,
    oldestAdmissionInWindow: 30_000,
    totalEnqueued: 100,
    totalAdmitted: 40,
    totalExpired: 2,
    totalCancelled: 1,
    totalSessionsEnded: 0,
    version: 1,
    now: 60_000,
    ...over,
  });

  it('combines store counts, socket reports and readings', () => {
    const view = queueView(config(), counts(), { sockets: 50, nodes: 2 }, [reading(0, 10, 40, 0), reading(50_000, 30, 90, 2)]);
    expect(view).toMatchObject({
      queue_id: 'q',
      status: 'active',
      waiting: 59,
      active_sessions: 3,
      connected_sockets: 50,
      socket_nodes: 2,
      admitted_last_minute: 30,
      admission_pace_per_minute: 60, // 10 in the last 10 s
      joins_per_minute: 60, // 60 in the minute (reading at 0)
      expiries_per_minute: 2,
      totals: { enqueued: 100, admitted: 40, expired: 2, cancelled: 1, sessions_ended: 0 },
    });
    // 30 admitted in the 30 s since the oldest admission: 60 / min, so the 60th in line waits 60 s.
    expect(view.eta_seconds_for_new_visitor).toBe(60);
  });

  it('gives no ETA while the queue does not admit', () => {
    expect(queueView(config({ status: 'paused' }), counts(), { sockets: 0, nodes: 0 }, []).eta_seconds_for_new_visitor).toBeNull();
    expect(queueView(config({ status: 'maintenance' }), counts(), { sockets: 0, nodes: 0 }, []).eta_seconds_for_new_visitor).toBeNull();
  });
});
