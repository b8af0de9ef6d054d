import { describe, expect, it } from 'vitest';
import type { SwarmReport } from '../lib/swarm.js';
import { countAt, createTimeline } from '../lib/timeline.js';
import type { CrowdResult } from './crowd.js';
import { admissionsPerRealMinute, caseStudyFigures, chartPanels } from './report.js';

const scale = { time: 30, sockets: 0.1 };

/** 25 admissions per wall second from 1 s to 9 s: 1,500 per wall minute, i.e. 500 per real minute. */
function admittedTimeline() {
  const t = createTimeline({ epochMs: 0, bucketMs: 100, buckets: 200 });
  for (let ms = 1_000; ms < 9_000; ms += 40) countAt(t, ms);
  return t;
}

describe('admissionsPerRealMinute', () => {
  it('counts per 60/k wall seconds, mapped to the full-size case', () => {
    // Windows of 2 s: [0,2) holds 1 s of admissions (25), then 50 each, then the tail.
    expect(admissionsPerRealMinute(admittedTimeline(), scale, 10_000)).toEqual([250, 500, 500, 500, 250]);
  });
});

describe('caseStudyFigures', () => {
  const timeline = admittedTimeline();
  const swarm = { count: 1_000, timelines: { admitted: timeline }, firstConnectAt: 0, lastReadyAt: 10_000, positionRises: 0 } as unknown as SwarmReport;
  const crowd: CrowdResult = {
    swarm,
    joined: 600,
    turnedAway: 400,
    joinFailures: {},
    admitted: 3,
    // 2 s, 4 s and 6 s of wall time: 1, 2 and 3 real minutes.
    waitsWallMs: Float64Array.from([2_000, 4_000, 6_000]),
    etaAtJoinSeconds: Float64Array.from([1, 3, 6]),
    stayerWaitsWallMs: Float64Array.from([2_000, 4_000, 6_000]),
    // Shown 1, 3 and 6 wall s = 0.5, 1.5 and 3 real minutes: errors +0.5, +0.5, 0 minutes.
    stayerEtaSeconds: Float64Array.from([1, 3, 6]),
    // The first joined inside the estimator's 5 s floor, the others after it.
    stayerJoinedAt: Float64Array.from([1_000, 5_000, 6_000]),
    abandonersDropped: 10,
    returnersDropped: 5,
    returns: { kept: 4, admittedOnReturn: 1, lost: 0, placeWorse: 0, lostReasons: {} },
    stillWaiting: 0,
    lastAnswerAt: 10_000,
    rows: () => '',
  };
  const samples = [
    { atMs: 0, queueLength: 0, activeSessions: 0, admitted: 0, expired: 0 },
    { atMs: 5_000, queueLength: 4_800, activeSessions: 400, admitted: 100, expired: 7 },
    { atMs: 10_000, queueLength: 10, activeSessions: 500, admitted: 200, expired: 9 },
  ];
  const f = caseStudyFigures({ scale, samples, crowd, health: { probes: 200, ok: 199 }, runWallMs: 10_000 });

  it('maps every figure back: counts ÷ s, times × k', () => {
    expect(f.arrival_minutes).toBe(5);
    expect(f.peak_queue_size).toBe(48_000);
    expect(f.peak_active_sessions).toBe(5_000);
    expect(f.average_wait_minutes).toBe(2);
    expect(f.wait_minutes_max).toBe(3);
    expect(f.turned_away_queue_full).toBe(4_000);
    expect(f.expired).toBe(90);
    expect(f.abandoned).toBe(100);
    expect(f.availability).toBe(0.995);
  });

  it('admissions per minute over the busy windows only', () => {
    expect(f.origin_admissions_per_minute_mean).toBe(400);
    expect(f.origin_admissions_per_minute_min).toBe(250);
    expect(f.origin_admissions_per_minute_max).toBe(500);
  });

  it('ETA error in real minutes: |actual − shown|, and the signed median', () => {
    expect(f.eta_error_minutes_p50).toBe(0.5);
    expect(f.eta_error_minutes_p90).toBe(0.5);
    expect(f.eta_bias_minutes_median).toBe(0.5);
    expect(f.eta_samples).toBe(3);
    expect(f.eta_after_floor_samples).toBe(2);
    expect(f.eta_after_floor_error_minutes_p90).toBe(0.5);
    expect(f.eta_after_floor_bias_minutes_median).toBe(0);
  });

  it('plots the queue over real minutes and the per-minute admissions at each minute’s middle', () => {
    const [queue, rate] = chartPanels(samples, [250, 500], scale);
    expect(queue?.series[0]?.points).toEqual([[0, 0], [2.5, 48_000], [5, 100]]);
    expect(rate?.series[0]?.points).toEqual([[0.5, 250], [1.5, 500]]);
  });
});
