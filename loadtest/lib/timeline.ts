/**
 * Event counts per fixed time bucket since a shared epoch (wall-clock ms, the same in every
 * process of one machine), so several generator processes can be summed and any window read
 * afterwards. Counting is one array increment: no allocation per event. Pure: no I/O.
 */

export interface TimelineSpec {
  /** Bucket 0 starts here (epoch ms). */
  epochMs: number;
  bucketMs: number;
  buckets: number;
}

export interface TimelineData extends TimelineSpec {
  counts: Uint32Array;
  /** Events before the epoch or after the last bucket (counted, not placed). */
  outside: number;
}

export function createTimeline(spec: TimelineSpec): TimelineData {
  if (!(spec.bucketMs > 0) || !Number.isInteger(spec.buckets) || spec.buckets < 1) {
    throw new RangeError(`bad timeline: ${spec.bucketMs} ms × ${spec.buckets}`);
  }
  return { ...spec, counts: new Uint32Array(spec.buckets), outside: 0 };
}

export function countAt(timeline: TimelineData, atMs: number, n = 1): void {
  const i = Math.floor((atMs - timeline.epochMs) / timeline.bucketMs);
  if (i >= 0 && i < timeline.buckets) timeline.counts[i] = (timeline.counts[i] as number) + n;
  else timeline.outside += n;
}

/** Bucket-wise sum of timelines with the same spec (one per generator process). */
export function mergeTimelines(timelines: readonly TimelineData[]): TimelineData {
  const [first] = timelines;
  if (!first) throw new RangeError('no timelines to merge');
  const merged = createTimeline(first);
  for (const t of timelines) {
    if (t.epochMs !== first.epochMs || t.bucketMs !== first.bucketMs || t.buckets !== first.buckets) {
      throw new RangeError('timelines with different specs');
    }
    for (let i = 0; i < t.buckets; i++) merged.counts[i] = (merged.counts[i] as number) + (t.counts[i] as number);
    merged.outside += t.outside;
  }
  return merged;
}

/**
 * Events in the buckets that start in [fromMs, toMs). Both ends are rounded down to a bucket
 * boundary, so a window is always a whole number of buckets.
 */
export function countBetween(timeline: TimelineData, fromMs: number, toMs: number): number {
  const from = Math.max(0, Math.floor((fromMs - timeline.epochMs) / timeline.bucketMs));
  const to = Math.min(timeline.buckets, Math.floor((toMs - timeline.epochMs) / timeline.bucketMs));
  let sum = 0;
  for (let i = from; i < to; i++) sum += timeline.counts[i] as number;
  return sum;
}

/** Events in buckets that start before `atMs` (a running total, e.g. admitted so far). */
export function countBefore(timeline: TimelineData, atMs: number): number {
  return countBetween(timeline, timeline.epochMs, atMs);
}

/** The first bucket boundary at or after `atMs`, so a window starting there covers whole buckets. */
export function nextBoundary(spec: TimelineSpec, atMs: number): number {
  return spec.epochMs + Math.ceil((atMs - spec.epochMs) / spec.bucketMs) * spec.bucketMs;
}

/**
 * The mean of `level(bucket start)` over the buckets of [fromMs, toMs), where the level is
 * `up` − `down` counted before that instant (e.g. visitors ready minus visitors gone: how many
 * were waiting). Used to weigh a rate by how many sockets could receive it.
 */
export function meanLevel(up: TimelineData, down: TimelineData, fromMs: number, toMs: number): number {
  let level = countBefore(up, fromMs) - countBefore(down, fromMs);
  const from = Math.max(0, Math.floor((fromMs - up.epochMs) / up.bucketMs));
  const to = Math.min(up.buckets, Math.floor((toMs - up.epochMs) / up.bucketMs));
  if (to <= from) return NaN;
  let sum = 0;
  for (let i = from; i < to; i++) {
    sum += level;
    level += (up.counts[i] as number) - (down.counts[i] as number);
  }
  return sum / (to - from);
}
