/**
 * A swarm: N visitors in one process, opened at a controlled rate and concurrency, spread over
 * server URLs and source addresses (plan.ts), with their results kept as counters, timelines and
 * typed arrays instead of per-visitor records. One shared observer, one pacing timer for the
 * whole swarm and no timer per visitor, so one process holds ~15,000 sockets.
 */
import { SOCKETS_PER_PROCESS, targetOf } from './plan.js';
import { countAt, createTimeline, type TimelineData, type TimelineSpec } from './timeline.js';
import { Visitor, nowMs, type VisitorObserver, type VisitorPhase } from './ws-visitor.js';

export interface SwarmPlan {
  /** Server WebSocket URLs, used in round robin (e.g. `ws://127.0.0.1:8080/ws/queues/q`). */
  urls: string[];
  /** Source addresses in round robin within each server's share; [] lets the OS choose. */
  localAddresses: string[];
  count: number;
  /** The swarm-wide number of this process's first visitor, so several processes interleave. */
  firstIndex: number;
  /** Most visitors connecting or joining at once. */
  concurrency: number;
  /** New connections per second; 0 = as fast as `concurrency` allows. */
  ratePerSecond: number;
  /** false: listeners that only count what arrives (no `join`), for a bare publisher. */
  join: boolean;
  /** Opening stops starting new visitors after this long. */
  openTimeoutMs: number;
  handshakeTimeoutMs: number;
  timeline: TimelineSpec;
}

export interface OpenSummary {
  started: number;
  /** Joined (or, for listeners, open). */
  ready: number;
  failed: number;
  /** Admitted straight away by their join (the queue was active and short). */
  admittedAtJoin: number;
  /** Not started because opening ran out of time. */
  unstarted: number;
  timedOut: boolean;
  firstConnectAt: number;
  lastReadyAt: number;
}

export interface SwarmReport extends OpenSummary {
  count: number;
  /** Connect → joined (or open), ms, one per ready visitor. */
  readyLatenciesMs: Float64Array;
  phases: Partial<Record<VisitorPhase, number>>;
  positionUpdates: number;
  /** Position updates that went up instead of down (must be 0). */
  positionRises: number;
  tokenRefreshes: number;
  badFrames: number;
  /** Per time bucket: position updates received, visitors ready, admitted, and no longer waiting. */
  timelines: { updates: TimelineData; ready: TimelineData; admitted: TimelineData; left: TimelineData };
  /** One entry per `admitted` push: when it arrived (wall ms) and its session_expires_at (ms). */
  admissions: { arrivedAt: Float64Array; sessionExpiresAt: Float64Array };
  /** Close codes of every socket that closed, and error codes (`error` frames, CONNECT, …). */
  closeCodes: Record<string, number>;
  errors: Record<string, number>;
  /** A few distinct error messages, to say why something failed. */
  errorSamples: string[];
  /** Sockets open right now. */
  open: number;
}

export interface Swarm {
  readonly visitors: readonly Visitor[];
  /** Resolves when every visitor is ready or failed, or opening timed out. */
  readonly opened: Promise<OpenSummary>;
  report(): SwarmReport;
  /** Closes every socket (code 1000), terminating those not closed within `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

const PACING_MS = 10;
const MAX_ERROR_SAMPLES = 5;

/**
 * `hooks` (optional, in-process callers only: functions do not cross IPC) hear every visitor
 * event after the swarm has counted it, for callers that follow visitors one by one.
 */
export function startSwarm(plan: SwarmPlan, hooks: VisitorObserver = {}): Swarm {
  if (plan.count > SOCKETS_PER_PROCESS * 1.3) {
    throw new RangeError(`${plan.count} sockets in one process: over its ~20,000 open files; use more generator processes`);
  }
  const visitors: Visitor[] = [];
  const timelines = {
    updates: createTimeline(plan.timeline),
    ready: createTimeline(plan.timeline),
    admitted: createTimeline(plan.timeline),
    left: createTimeline(plan.timeline),
  };
  const readyLatencies = new Float64Array(plan.count);
  const arrivedAt: number[] = [];
  const sessionExpiresAt: number[] = [];
  const closeCodes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const errorSamples: string[] = [];
  const summary: OpenSummary = {
    started: 0,
    ready: 0,
    failed: 0,
    admittedAtJoin: 0,
    unstarted: 0,
    timedOut: false,
    firstConnectAt: NaN,
    lastReadyAt: NaN,
  };
  let inFlight = 0;
  let open = 0;
  let positionUpdates = 0;
  let badFrames = 0;
  /** Visitors still connecting or joining for the first time (index → true). */
  const settling = new Uint8Array(plan.count);

  const noteError = (code: string, message: string | undefined) => {
    errors[code] = (errors[code] ?? 0) + 1;
    const sample = `${code}: ${message ?? ''}`.slice(0, 300);
    if (errorSamples.length < MAX_ERROR_SAMPLES && !errorSamples.includes(sample)) errorSamples.push(sample);
  };

  let resolveOpened: (s: OpenSummary) => void = () => undefined;
  const opened = new Promise<OpenSummary>((resolve) => (resolveOpened = resolve));
  let openingDone = false;
  /** Set while close() waits for the last socket. */
  let onAllClosed: (() => void) | undefined;

  /** A visitor's first connect ended (ready, admitted or failed): make room for the next. */
  function settled(v: Visitor, outcome: 'ready' | 'admitted' | 'failed') {
    const i = v.index;
    if (settling[i] !== 1) return;
    settling[i] = 0;
    inFlight--;
    const at = nowMs();
    if (outcome === 'ready') {
      readyLatencies[summary.ready] = at - v.connectStartedAt;
      summary.ready++;
      if (!(at <= summary.lastReadyAt)) summary.lastReadyAt = at;
      countAt(timelines.ready, at);
    } else if (outcome === 'admitted') {
      summary.admittedAtJoin++;
    } else {
      summary.failed++;
    }
    pump();
  }

  const observer: VisitorObserver = {
    opened(v) {
      open++;
      if (!plan.join) settled(v, 'ready');
      hooks.opened?.(v);
    },
    joined(v) {
      settled(v, 'ready');
      hooks.joined?.(v);
    },
    positionUpdate(v) {
      positionUpdates++;
      countAt(timelines.updates, nowMs());
      hooks.positionUpdate?.(v);
    },
    admitted(v) {
      countAt(timelines.admitted, v.admittedAt);
      arrivedAt.push(v.admittedAt);
      sessionExpiresAt.push(v.admission ? Date.parse(v.admission.session_expires_at) : NaN);
      settled(v, 'admitted');
      hooks.admitted?.(v);
    },
    left(v) {
      countAt(timelines.left, nowMs());
      hooks.left?.(v);
    },
    closed(v) {
      if (!Number.isNaN(v.openedAt) && v.openedAt >= v.connectStartedAt) open--;
      closeCodes[v.closeCode] = (closeCodes[v.closeCode] ?? 0) + 1;
      if (v.errorCode !== undefined) noteError(v.errorCode, v.errorMessage);
      settled(v, 'failed');
      if (openingDone && open === 0) onAllClosed?.();
      hooks.closed?.(v);
    },
    badFrame(v, reason) {
      badFrames++;
      noteError('BAD_FRAME', reason);
      hooks.badFrame?.(v, reason);
    },
  };

  let allowance = plan.ratePerSecond > 0 ? Math.min(plan.concurrency, 1) : Infinity;
  let lastPace = nowMs();

  function startOne() {
    const i = summary.started;
    const target = targetOf(plan.firstIndex + i, plan.urls, plan.localAddresses);
    const v = new Visitor({
      index: i,
      url: target.url,
      localAddress: target.localAddress,
      join: plan.join,
      handshakeTimeoutMs: plan.handshakeTimeoutMs,
      observer,
    });
    visitors.push(v);
    settling[i] = 1;
    summary.started++;
    inFlight++;
    v.connect();
    if (Number.isNaN(summary.firstConnectAt)) summary.firstConnectAt = v.connectStartedAt;
  }

  function pump() {
    if (openingDone) return;
    if (plan.ratePerSecond > 0) {
      const now = nowMs();
      allowance = Math.min(allowance + ((now - lastPace) * plan.ratePerSecond) / 1000, Math.max(1, plan.ratePerSecond / 10));
      lastPace = now;
    }
    while (summary.started < plan.count && inFlight < plan.concurrency && allowance >= 1) {
      startOne();
      allowance--;
    }
    if (summary.started === plan.count && inFlight === 0) finishOpening(false);
  }

  function finishOpening(timedOut: boolean) {
    if (openingDone) return;
    openingDone = true;
    clearInterval(pacer);
    clearTimeout(deadline);
    summary.timedOut = timedOut;
    summary.unstarted = plan.count - summary.started;
    resolveOpened({ ...summary });
  }

  // One timer for the whole swarm: refills the rate allowance and restarts a stalled pump.
  const pacer = setInterval(pump, PACING_MS);
  const deadline = setTimeout(() => finishOpening(true), plan.openTimeoutMs);
  queueMicrotask(pump);

  return {
    visitors,
    opened,
    report(): SwarmReport {
      const phases: Partial<Record<VisitorPhase, number>> = {};
      let rises = 0;
      let refreshes = 0;
      for (const v of visitors) {
        phases[v.phase] = (phases[v.phase] ?? 0) + 1;
        rises += v.positionRises;
        refreshes += v.tokenRefreshes;
      }
      return {
        ...summary,
        count: plan.count,
        readyLatenciesMs: readyLatencies.slice(0, summary.ready),
        phases,
        positionUpdates,
        positionRises: rises,
        tokenRefreshes: refreshes,
        badFrames,
        timelines,
        admissions: { arrivedAt: Float64Array.from(arrivedAt), sessionExpiresAt: Float64Array.from(sessionExpiresAt) },
        closeCodes,
        errors,
        errorSamples,
        open,
      };
    },
    async close(timeoutMs: number): Promise<void> {
      finishOpening(summary.started < plan.count);
      if (open > 0) {
        const allClosed = new Promise<void>((resolve) => (onAllClosed = resolve));
        for (const v of visitors) v.close(1000, 'load test done');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([allClosed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        clearTimeout(timer);
      }
      for (const v of visitors) v.terminate();
    },
  };
}
