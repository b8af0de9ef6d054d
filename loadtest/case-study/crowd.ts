/**
 * The case study's visitors: a swarm (loadtest/lib/swarm.ts) in this process, arriving at an
 * even rate, plus what the benchmark swarm does not do — some visitors drop off mid-wait.
 * An *abandoner* loses its connection (socket terminated, no close frame, like a phone losing
 * signal) and never comes back; a *returner* loses it too and reconnects with its ticket, to
 * another node, within the grace period. Every visitor's first `joined` (time, position and the
 * estimated_wait_seconds it was shown) and its admission time are kept for the ETA error.
 */
import type { OpenSummary, Swarm, SwarmReport } from '../lib/swarm.js';
import { startSwarm } from '../lib/swarm.js';
import type { TimelineSpec } from '../lib/timeline.js';
import { nowMs, type Visitor } from '../lib/ws-visitor.js';

export interface CrowdOptions {
  urls: string[];
  visitors: number;
  arrivalWallMs: number;
  /** Connects + joins in flight at once. */
  concurrency: number;
  /** Shares of the joined visitors that abandon / drop and return (each decided at join). */
  abandonShare: number;
  returnShare: number;
  /** The queue's heartbeat timeout in wall ms: returners come back after 25–75 % of it. */
  graceWallMs: number;
  random: () => number;
  timeline: TimelineSpec;
}

const STAY = 0;
const ABANDON = 1;
const RETURN = 2;

export interface ReturnOutcomes {
  /** Resumed with `resumed: true` (the same place). */
  kept: number;
  /** Got `admitted` on the resume (admitted while away). */
  admittedOnReturn: number;
  /** Could not resume (place gone, or no answer). */
  lost: number;
  /** Came back further back than they left (must be 0). */
  placeWorse: number;
  /** Why a resume failed: the `error` code, or the close code. */
  lostReasons: Record<string, number>;
}

export interface CrowdResult {
  swarm: SwarmReport;
  joined: number;
  /** Refused at join: QUEUE_FULL. */
  turnedAway: number;
  /** Other join failures, by error code (or close code). */
  joinFailures: Record<string, number>;
  admitted: number;
  /** Wall ms from the first `joined` to `admitted`, and the ETA shown at that `joined` (s). */
  waitsWallMs: Float64Array;
  etaAtJoinSeconds: Float64Array;
  /** The same for visitors that never dropped off (the ETA's promise held them the whole time). */
  stayerWaitsWallMs: Float64Array;
  stayerEtaSeconds: Float64Array;
  /** Wall ms (nowMs) of each stayer's `joined`. */
  stayerJoinedAt: Float64Array;
  abandonersDropped: number;
  returnersDropped: number;
  returns: ReturnOutcomes;
  /** Joined, still waiting when the run ended. */
  stillWaiting: number;
  /** One row per joined visitor, for a closer look (--visitors-csv). */
  rows(): string;
  /** Wall ms of the last first-join answer, `joined` or refusal (the swarm notes only joins). */
  lastAnswerAt: number;
}

export interface Crowd {
  readonly opened: Promise<OpenSummary>;
  /** Drops and returns still scheduled. */
  pending(): number;
  result(): CrowdResult;
  close(timeoutMs: number): Promise<void>;
}

interface Action {
  at: number;
  index: number;
  kind: 'drop' | 'return';
}

export function startCrowd(opts: CrowdOptions): Crowd {
  const n = opts.visitors;
  const plan = new Uint8Array(n);
  const joinedAt = new Float64Array(n).fill(NaN);
  const etaAtJoin = new Float64Array(n).fill(NaN);
  const positionAtJoin = new Float64Array(n).fill(NaN);
  const positionAtDrop = new Float64Array(n).fill(NaN);
  const admittedAt = new Float64Array(n).fill(NaN);
  const dropped = new Uint8Array(n);
  const returns: ReturnOutcomes = { kept: 0, admittedOnReturn: 0, lost: 0, placeWorse: 0, lostReasons: {} };
  const joinFailures: Record<string, number> = {};
  let turnedAway = 0;
  let lastAnswerAt = NaN;
  let inFlightReturns = 0;

  /** Sorted by time (latest last); a few thousand entries at most. */
  const actions: Action[] = [];
  const schedule = (a: Action) => {
    let i = actions.length;
    while (i > 0 && (actions[i - 1] as Action).at > a.at) i--;
    actions.splice(i, 0, a);
  };

  const swarm: Swarm = startSwarm(
    {
      urls: opts.urls,
      localAddresses: [],
      count: n,
      firstIndex: 0,
      concurrency: opts.concurrency,
      ratePerSecond: (n * 1000) / opts.arrivalWallMs,
      join: true,
      openTimeoutMs: opts.arrivalWallMs * 4 + 60_000,
      handshakeTimeoutMs: 30_000,
      timeline: opts.timeline,
    },
    {
      joined(v) {
        const i = v.index;
        if (!Number.isNaN(joinedAt[i] as number)) return; // a returner's resume: handled by its promise
        joinedAt[i] = v.joinedAt;
        if (!(v.joinedAt <= lastAnswerAt)) lastAnswerAt = v.joinedAt;
        etaAtJoin[i] = v.last.etaSeconds;
        positionAtJoin[i] = v.last.position;
        const r = opts.random();
        plan[i] = r < opts.abandonShare ? ABANDON : r < opts.abandonShare + opts.returnShare ? RETURN : STAY;
        if (plan[i] !== STAY) {
          // Somewhere inside the wait it was promised, so most droppers are still waiting then.
          const waitMs = Math.max(1, v.last.etaSeconds) * 1000;
          schedule({ at: v.joinedAt + (0.05 + 0.9 * opts.random()) * waitMs, index: i, kind: 'drop' });
        }
      },
      admitted(v) {
        if (Number.isNaN(admittedAt[v.index] as number)) admittedAt[v.index] = v.admittedAt;
      },
      closed(v) {
        if (!Number.isNaN(joinedAt[v.index] as number)) return;
        const now = nowMs();
        if (!(now <= lastAnswerAt)) lastAnswerAt = now;
        if (v.errorCode === 'QUEUE_FULL') turnedAway++;
        else {
          const code = v.errorCode ?? `close ${v.closeCode}`;
          joinFailures[code] = (joinFailures[code] ?? 0) + 1;
        }
      },
    },
  );

  function dropOff(v: Visitor, i: number, now: number) {
    if (v.phase !== 'waiting') return; // admitted (or gone) before its moment came
    dropped[i] = 1;
    positionAtDrop[i] = v.last.position;
    v.terminate();
    if (plan[i] === RETURN) schedule({ at: now + (0.25 + 0.5 * opts.random()) * opts.graceWallMs, index: i, kind: 'return' });
  }

  function lostPlace(reason: string) {
    returns.lost++;
    returns.lostReasons[reason] = (returns.lostReasons[reason] ?? 0) + 1;
  }

  function comeBack(v: Visitor, i: number) {
    inFlightReturns++;
    // Another node than the one it left: a place lives in the store, not in a node.
    const url = opts.urls[(i + 1) % opts.urls.length] as string;
    v.reconnect({ url, timeoutMs: 30_000 })
      .then((outcome) => {
        if (outcome.kind === 'admitted') returns.admittedOnReturn++;
        else if (outcome.kind === 'joined' && v.resumed) {
          returns.kept++;
          if (v.last.position > (positionAtDrop[i] as number)) returns.placeWorse++;
        } else lostPlace(v.errorCode ?? `close ${v.closeCode}`);
      })
      .catch((err: unknown) => lostPlace(err instanceof Error ? err.message : String(err)))
      .finally(() => inFlightReturns--);
  }

  const ticker = setInterval(() => {
    const now = nowMs();
    while (actions.length > 0 && (actions[0] as Action).at <= now) {
      const a = actions.shift() as Action;
      const v = swarm.visitors[a.index];
      if (!v) continue;
      if (a.kind === 'drop') dropOff(v, a.index, now);
      else comeBack(v, a.index);
    }
  }, 20);

  return {
    opened: swarm.opened,
    pending: () => actions.length + inFlightReturns,
    result(): CrowdResult {
      const waits: number[] = [];
      const etas: number[] = [];
      const stayerWaits: number[] = [];
      const stayerEtas: number[] = [];
      const stayerJoins: number[] = [];
      let joined = 0;
      let stillWaiting = 0;
      let abandonersDropped = 0;
      let returnersDropped = 0;
      for (let i = 0; i < n; i++) {
        const j = joinedAt[i] as number;
        if (Number.isNaN(j)) continue;
        joined++;
        if (dropped[i] && plan[i] === ABANDON) abandonersDropped++;
        else if (dropped[i]) returnersDropped++;
        const a = admittedAt[i] as number;
        if (Number.isNaN(a)) {
          if (swarm.visitors[i]?.phase === 'waiting') stillWaiting++;
          continue;
        }
        waits.push(a - j);
        etas.push(etaAtJoin[i] as number);
        if (!dropped[i]) {
          stayerWaits.push(a - j);
          stayerEtas.push(etaAtJoin[i] as number);
          stayerJoins.push(j);
        }
      }
      return {
        swarm: swarm.report(),
        joined,
        turnedAway,
        joinFailures,
        admitted: waits.length,
        waitsWallMs: Float64Array.from(waits),
        etaAtJoinSeconds: Float64Array.from(etas),
        stayerWaitsWallMs: Float64Array.from(stayerWaits),
        stayerEtaSeconds: Float64Array.from(stayerEtas),
        stayerJoinedAt: Float64Array.from(stayerJoins),
        abandonersDropped,
        returnersDropped,
        returns: { ...returns, lostReasons: { ...returns.lostReasons } },
        stillWaiting,
        lastAnswerAt,
        rows() {
          const lines = ['joined_wall_ms,position_at_join,eta_shown_wall_s,admitted_wall_ms,dropped,plan'];
          for (let i = 0; i < n; i++) {
            if (Number.isNaN(joinedAt[i] as number)) continue;
            lines.push(`${joinedAt[i]},${positionAtJoin[i]},${etaAtJoin[i]},${admittedAt[i]},${dropped[i]},${plan[i]}`);
          }
          return `${lines.join('\n')}\n`;
        },
      };
    },
    async close(timeoutMs) {
      clearInterval(ticker);
      actions.length = 0;
      await swarm.close(timeoutMs);
    },
  };
}
