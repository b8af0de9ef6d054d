/**
 * What the realtime benchmark shares between the waiting room and the bare uWS baseline: swarm
 * plans for the generator processes, a measuring window aligned to the timeline buckets, and the
 * delivery figures of that window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { isLoopbackUrl } from '../../lib/plan.js';
import type { SwarmPlan, SwarmReport } from '../../lib/swarm.js';
import { countBetween, meanLevel, mergeTimelines, nextBoundary, type TimelineSpec } from '../../lib/timeline.js';
import { nowMs } from '../../lib/ws-visitor.js';
import { withCpuShares, type CpuParties, type CpuShares } from './cpu.js';

/** One plan per generator process: the same settings, each with its share of the swarm. */
export function swarmPlans(base: Omit<SwarmPlan, 'count' | 'firstIndex'>, counts: readonly number[]): SwarmPlan[] {
  const remote = base.urls.find((url) => !isLoopbackUrl(url));
  if (remote !== undefined) throw new Error(`the benchmark sends load to 127.0.0.x only, not to ${remote}`);
  let firstIndex = 0;
  return counts.map((count) => {
    const plan = { ...base, count, firstIndex };
    firstIndex += count;
    return plan;
  });
}

export interface Window {
  fromMs: number;
  toMs: number;
  cpu: CpuShares;
  /** probe() at the end minus probe() at the start, and the time between the two reads. */
  probeDelta: number;
  probeSeconds: number;
}

/**
 * Waits for the next bucket boundary, then measures exactly `seconds` (whole buckets) and the CPU
 * of every party meanwhile. With a 1 s publish tick, any whole-second window holds the same
 * number of ticks, wherever it starts.
 */
export async function measureWindow(
  spec: TimelineSpec,
  seconds: number,
  parties: CpuParties,
  redis: Redis,
  /** A counter read at both ends (e.g. the server's own metric), for a cross-check. */
  probe: () => Promise<number> = async () => 0,
): Promise<Window> {
  const fromMs = nextBoundary(spec, nowMs());
  await sleep(Math.max(0, fromMs - nowMs()));
  const toMs = fromMs + seconds * 1000;
  const probedAt = nowMs();
  const first = await probe();
  const { cpu } = await withCpuShares(parties, redis, () => sleep(Math.max(0, toMs - nowMs())));
  const last = await probe();
  return { fromMs, toMs, cpu, probeDelta: last - first, probeSeconds: (nowMs() - probedAt) / 1000 };
}

export interface Deliveries {
  /** position_update frames received in the window, all processes. */
  count: number;
  perS: number;
  /** Mean number of sockets that were waiting (ready and not yet gone) during the window. */
  meanWaiting: number;
  /** Deliveries per second per waiting socket: 1.0 = every socket got one frame per 1 s tick. */
  perSocketPerS: number;
}

export function deliveriesIn(reports: readonly SwarmReport[], window: Pick<Window, 'fromMs' | 'toMs'>): Deliveries {
  const updates = mergeTimelines(reports.map((r) => r.timelines.updates));
  const ready = mergeTimelines(reports.map((r) => r.timelines.ready));
  const left = mergeTimelines(reports.map((r) => r.timelines.left));
  const count = countBetween(updates, window.fromMs, window.toMs);
  const seconds = (window.toMs - window.fromMs) / 1000;
  const perS = count / seconds;
  const meanWaiting = meanLevel(ready, left, window.fromMs, window.toMs);
  return { count, perS, meanWaiting, perSocketPerS: perS / meanWaiting };
}

/** Sums a numeric field over the generator reports. */
export function sumOf(reports: readonly SwarmReport[], pick: (r: SwarmReport) => number): number {
  return reports.reduce((sum, r) => sum + pick(r), 0);
}

/** Adds up per-process histograms such as close codes. */
export function mergeCounts(records: readonly Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const r of records) for (const [k, n] of Object.entries(r)) merged[k] = (merged[k] ?? 0) + n;
  return merged;
}
