/**
 * Turns what a run recorded into the case study's figures, mapped back to the full-size case
 * (counts ÷ s, wall time × k): the seed's results table plus what it could not show. Pure.
 */
import { round } from '../bench/lib/stats.js';
import type { CrowdResult } from './crowd.js';
import { realCount, realSeconds, SEED_RESULTS, type Scale } from './scaling.js';
import { absolute, busyWindows, etaErrors, peak, spread, windowCounts, type QueueSample } from './stats.js';
import type { TimelineData } from '../lib/timeline.js';
import type { Panel } from './svg.js';

export interface HealthCount {
  probes: number;
  ok: number;
}

export interface CaseStudyFigures {
  time_scale: number;
  socket_scale: number;
  visitors_run: number;
  /** How long the arrivals really took (first connect → last answered join), real minutes: 5 if the machine kept up. */
  arrival_minutes: number;
  /** The seed's four results, in full-size units. */
  peak_queue_size: number;
  average_wait_minutes: number;
  origin_admissions_per_minute_mean: number;
  origin_admissions_per_minute_min: number;
  origin_admissions_per_minute_max: number;
  availability: number;
  health_probes: number;
  /** What the seed could not show. */
  turned_away_queue_full: number;
  expired: number;
  wait_minutes_p50: number;
  wait_minutes_p90: number;
  wait_minutes_max: number;
  eta_error_minutes_p50: number;
  eta_error_minutes_p90: number;
  eta_bias_minutes_median: number;
  eta_relative_error_p50: number;
  eta_relative_error_p90: number;
  eta_samples: number;
  /** The same for visitors who joined after the estimator's 5 s floor (see ESTIMATOR_FLOOR_WALL_MS). */
  eta_after_floor_error_minutes_p50: number;
  eta_after_floor_error_minutes_p90: number;
  eta_after_floor_bias_minutes_median: number;
  eta_after_floor_relative_error_p50: number;
  eta_after_floor_relative_error_p90: number;
  eta_after_floor_samples: number;
  peak_active_sessions: number;
  admitted: number;
  joined: number;
  abandoned: number;
  returned_kept_place: number;
  returned_admitted_while_away: number;
  returned_lost_place: number;
  returned_further_back: number;
  /** Run units: why resumes failed (error or close code). */
  returned_lost_reasons: Record<string, number>;
  join_failures: number;
  position_rises: number;
  still_waiting_at_end: number;
  run_wall_seconds: number;
}

export interface FigureInputs {
  scale: Scale;
  samples: readonly QueueSample[];
  crowd: CrowdResult;
  health: HealthCount;
  runWallMs: number;
}

/**
 * `admitted` pushes received per real minute (windows of 60/k wall seconds from the first
 * arrival), in full-size units: what reaches the origin. Exact to the timeline's 100 ms buckets.
 */
export function admissionsPerRealMinute(admitted: TimelineData, scale: Scale, untilWallMs: number): number[] {
  const windowMs = (MINUTE_S * 1000) / scale.time;
  return windowCounts(admitted, windowMs, admitted.epochMs + untilWallMs).map((c) => realCount(c, scale));
}

const MINUTE_S = 60;

/**
 * The server's rate estimate divides the admissions of the last minute by at least 5 s of wall
 * time (server/src/domain/admission.ts, measuredRatePerMinute). That floor is not time-scaled:
 * at k = 30 it lasts 2.5 real minutes, during which the shown ETA is inflated. The ETA error is
 * therefore also reported for visitors who joined after it.
 */
export const ESTIMATOR_FLOOR_WALL_MS = 5_000;

interface EtaFigures {
  p50: number;
  p90: number;
  bias: number;
  relP50: number;
  relP90: number;
  count: number;
}

/** |actual − shown| p50/p90 and the signed median in real minutes; relative |error| ÷ actual. */
function etaFigures(actualWallMs: ArrayLike<number>, shownWallS: ArrayLike<number>, scale: Scale): EtaFigures {
  const actual = Float64Array.from(actualWallMs, (ms) => realSeconds(ms, scale));
  const shown = Float64Array.from(shownWallS, (s) => s * scale.time);
  const errors = etaErrors(actual, shown);
  const abs = spread(absolute(errors));
  const rel = spread(Float64Array.from(errors, (e, i) => Math.abs(e) / Math.max(1, actual[i] as number)));
  return {
    p50: round(abs.p50 / MINUTE_S, 2),
    p90: round(abs.p90 / MINUTE_S, 2),
    bias: round(spread(errors).p50 / MINUTE_S, 2),
    relP50: round(rel.p50, 3),
    relP90: round(rel.p90, 3),
    count: errors.length,
  };
}

export function caseStudyFigures(input: FigureInputs): CaseStudyFigures {
  const { scale, samples, crowd, health } = input;
  const toMinutes = (wallMs: number) => realSeconds(wallMs, scale) / MINUTE_S;
  const waits = spread(crowd.waitsWallMs);
  const perMinute = busyWindows(admissionsPerRealMinute(crowd.swarm.timelines.admitted, scale, input.runWallMs));
  const perMinuteSpread = spread(perMinute);
  const last = samples[samples.length - 1];
  const first = samples[0];
  // ETA error: the visitors who stayed connected until admitted (actual wait − ETA shown at join).
  const eta = etaFigures(crowd.stayerWaitsWallMs, crowd.stayerEtaSeconds, scale);
  const late = Array.from(crowd.stayerJoinedAt, (at, i) => (at - crowd.swarm.firstConnectAt >= ESTIMATOR_FLOOR_WALL_MS ? i : -1)).filter((i) => i >= 0);
  const etaLate = etaFigures(
    late.map((i) => crowd.stayerWaitsWallMs[i] as number),
    late.map((i) => crowd.stayerEtaSeconds[i] as number),
    scale,
  );
  const failures = Object.values(crowd.joinFailures).reduce((a, b) => a + b, 0);
  return {
    time_scale: scale.time,
    socket_scale: scale.sockets,
    visitors_run: crowd.swarm.count,
    arrival_minutes: round(toMinutes(Math.max(crowd.swarm.lastReadyAt, crowd.lastAnswerAt) - crowd.swarm.firstConnectAt), 2),
    peak_queue_size: Math.round(realCount(peak(samples, 'queueLength'), scale)),
    average_wait_minutes: round(toMinutes(waits.mean), 1),
    origin_admissions_per_minute_mean: round(perMinuteSpread.mean, 1),
    origin_admissions_per_minute_min: round(Math.min(...perMinute), 1),
    origin_admissions_per_minute_max: round(perMinuteSpread.max, 1),
    availability: health.probes > 0 ? round(health.ok / health.probes, 4) : NaN,
    health_probes: health.probes,
    turned_away_queue_full: Math.round(realCount(crowd.turnedAway, scale)),
    expired: last && first ? Math.round(realCount(last.expired - first.expired, scale)) : NaN,
    wait_minutes_p50: round(toMinutes(waits.p50), 1),
    wait_minutes_p90: round(toMinutes(waits.p90), 1),
    wait_minutes_max: round(toMinutes(waits.max), 1),
    eta_error_minutes_p50: eta.p50,
    eta_error_minutes_p90: eta.p90,
    eta_bias_minutes_median: eta.bias,
    eta_relative_error_p50: eta.relP50,
    eta_relative_error_p90: eta.relP90,
    eta_samples: eta.count,
    eta_after_floor_error_minutes_p50: etaLate.p50,
    eta_after_floor_error_minutes_p90: etaLate.p90,
    eta_after_floor_bias_minutes_median: etaLate.bias,
    eta_after_floor_relative_error_p50: etaLate.relP50,
    eta_after_floor_relative_error_p90: etaLate.relP90,
    eta_after_floor_samples: etaLate.count,
    peak_active_sessions: Math.round(realCount(peak(samples, 'activeSessions'), scale)),
    admitted: Math.round(realCount(crowd.admitted, scale)),
    joined: Math.round(realCount(crowd.joined, scale)),
    abandoned: Math.round(realCount(crowd.abandonersDropped, scale)),
    returned_kept_place: Math.round(realCount(crowd.returns.kept, scale)),
    returned_admitted_while_away: Math.round(realCount(crowd.returns.admittedOnReturn, scale)),
    returned_lost_place: Math.round(realCount(crowd.returns.lost, scale)),
    returned_further_back: crowd.returns.placeWorse,
    returned_lost_reasons: crowd.returns.lostReasons,
    join_failures: failures,
    position_rises: crowd.swarm.positionRises,
    still_waiting_at_end: crowd.stillWaiting,
    run_wall_seconds: round(input.runWallMs / 1000, 1),
  };
}

const n = (v: number) => v.toLocaleString('en-US');

/** The seed's results table next to this run's, then the figures it could not show. */
export function resultRows(f: CaseStudyFigures): (string | number)[][] {
  return [
    ['Arrivals took (minutes; the case says 5)', '5', f.arrival_minutes],
    ['Peak queue size', `${SEED_RESULTS.peakQueueSize.toLocaleString('en-US')} users`, f.peak_queue_size],
    ['Average wait (minutes)', SEED_RESULTS.averageWaitMinutes, f.average_wait_minutes],
    ['Origin admissions per minute (mean; min–max)', 'stable at 500', `${f.origin_admissions_per_minute_mean} (${f.origin_admissions_per_minute_min}–${f.origin_admissions_per_minute_max})`],
    ['Availability (health probes answered 200)', '100 %', `${round(f.availability * 100, 2)} %`],
    ['Turned away: QUEUE_FULL', '—', f.turned_away_queue_full],
    ['Expired (dropped off, not back within grace)', '—', f.expired],
    ['Wait p50 / p90 / max (minutes)', '—', `${f.wait_minutes_p50} / ${f.wait_minutes_p90} / ${f.wait_minutes_max}`],
    ['ETA error |actual − shown at join| p50 / p90 (minutes)', '—', `${f.eta_error_minutes_p50} / ${f.eta_error_minutes_p90}`],
    ['ETA bias: median (actual − shown) (minutes)', '—', f.eta_bias_minutes_median],
    ['ETA relative error p50 / p90', '—', `${f.eta_relative_error_p50} / ${f.eta_relative_error_p90}`],
    [
      `ETA, joined after the estimator's 5 s floor (${n(f.eta_after_floor_samples)} in run): error p50 / p90, bias, relative p50 / p90`,
      '—',
      `${f.eta_after_floor_error_minutes_p50} / ${f.eta_after_floor_error_minutes_p90}, ${f.eta_after_floor_bias_minutes_median}, ${f.eta_after_floor_relative_error_p50} / ${f.eta_after_floor_relative_error_p90}`,
    ],
    ['Joined / admitted', '—', `${n(f.joined)} / ${n(f.admitted)}`],
    ['Returned within grace: kept place / admitted while away / lost', '—', `${n(f.returned_kept_place)} / ${n(f.returned_admitted_while_away)} / ${n(f.returned_lost_place)}`],
    ['Peak active sessions', '—', f.peak_active_sessions],
    ['Position rises, join failures, still waiting at end (run units)', '—', `${f.position_rises}, ${f.join_failures}, ${f.still_waiting_at_end}`],
  ];
}

/** Queue length and active sessions, and admissions per real minute, over real-case minutes. */
export function chartPanels(samples: readonly QueueSample[], perRealMinute: readonly number[], scale: Scale): Panel[] {
  const x = (s: QueueSample) => realSeconds(s.atMs, scale) / MINUTE_S;
  return [
    {
      title: 'Queue (full-size visitors)',
      yLabel: 'visitors',
      series: [
        { name: 'waiting (queue length)', color: '#1f77b4', points: samples.map((s) => [x(s), realCount(s.queueLength, scale)] as const) },
        { name: 'active sessions', color: '#2ca02c', points: samples.map((s) => [x(s), realCount(s.activeSessions, scale)] as const) },
      ],
    },
    {
      title: 'Origin admissions per minute (full-size)',
      yLabel: 'admissions / minute',
      series: [
        {
          name: 'admitted per minute',
          color: '#d62728',
          // Window i covers real minute [i, i + 1): drawn at its middle.
          points: perRealMinute.map((c, i) => [i + 0.5, c] as const),
        },
        { name: 'configured: 500 / minute', color: '#999999', points: perRealMinute.length > 0 ? [[0, 500], [perRealMinute.length, 500]] : [] },
      ],
    },
  ];
}
