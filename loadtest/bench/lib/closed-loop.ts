/**
 * A closed-loop load runner: `concurrency` workers, each sending its next operation as soon as
 * the previous one answered. Shared by the HTTP and the bare-Redis measurements so both are
 * driven the same way. Latency is measured per operation with performance.now().
 */
import { performance } from 'node:perf_hooks';

/** Stop after a fixed number of operations, or after a fixed time (the first one set wins). */
export type LoadLimit = { requests: number } | { durationMs: number };

export interface ClosedLoopOptions {
  concurrency: number;
  limit: LoadLimit;
  /** One operation; resolves true on success. A rejection counts as a failure. */
  operation: (index: number) => Promise<boolean>;
}

export interface ClosedLoopResult {
  /** Latency of every successful operation, ms, in completion order. */
  latenciesMs: number[];
  succeeded: number;
  failed: number;
  elapsedMs: number;
  /** The first rejection, to show why a run failed. */
  firstError: string | undefined;
}

export async function runClosedLoop({ concurrency, limit, operation }: ClosedLoopOptions): Promise<ClosedLoopResult> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`bad concurrency: ${concurrency}`);
  const latenciesMs: number[] = [];
  let issued = 0;
  let failed = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = 'durationMs' in limit ? started + limit.durationMs : Infinity;
  const maxRequests = 'requests' in limit ? limit.requests : Infinity;

  async function worker(): Promise<void> {
    while (issued < maxRequests && performance.now() < deadline) {
      const index = issued++;
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await operation(index);
      } catch (err) {
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      if (ok) latenciesMs.push(performance.now() - t0);
      else failed++;
    }
  }

  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return { latenciesMs, succeeded: latenciesMs.length, failed, elapsedMs: performance.now() - started, firstError };
}
