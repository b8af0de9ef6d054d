import { createRequire } from 'node:module';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import type { Logger } from './observability/logger.js';

/**
 * Hands the C allocator's free pages back to the operating system after V8's major garbage
 * collections (glibc's `malloc_trim`, called through the koffi FFI on a libuv worker thread).
 *
 * Why: a join storm interleaves short-lived native allocations (network read buffers, the
 * backing stores of every ArrayBuffer uWS hands a handler) with the long-lived ones of each new
 * socket. Once the collector frees the short-lived ones, glibc keeps their pages as holes between
 * the sockets' memory and never returns them on its own (it only trims the top of its heap): on
 * 10,000 sockets per process that was ~800 bytes per socket of resident memory nobody used
 * (docs/PERFORMANCE.md). `malloc_trim(0)` releases every whole free page of every arena.
 *
 * Process-wide, because the allocator is: started once (main.ts), whatever the number of nodes a
 * process runs. A no-op where there is no glibc `malloc_trim` (musl, macOS) and with jemalloc
 * preloaded (glibc's arenas are then empty; jemalloc returns pages by its own decay).
 */

export interface MallocTrimStats {
  /** Trims completed. */
  trims: number;
  /** Time they took on the worker thread, in seconds. */
  seconds: number;
  failures: number;
}

interface Trimmer {
  observer: PerformanceObserver;
  timer: NodeJS.Timeout | undefined;
}

type MallocTrim = ((pad: number) => number) & {
  async: (pad: number, callback: (err: unknown, released: number) => void) => void;
};

const stats: MallocTrimStats = { trims: 0, seconds: 0, failures: 0 };
let trimmer: Trimmer | undefined;

export function mallocTrimStats(): Readonly<MallocTrimStats> {
  return stats;
}

/** glibc's `malloc_trim`, or undefined where it cannot be had. */
function loadMallocTrim(log: Logger): MallocTrim | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(path: string): { func(signature: string): MallocTrim };
    };
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
  } catch (err) {
    log.info({ err: err instanceof Error ? err.message : String(err) }, 'malloc_trim unavailable: freed native memory stays with the allocator');
    return undefined;
  }
}

/**
 * Trims `settleMs` after every major collection (V8 frees the backing stores of dead
 * ArrayBuffers on a background thread after the collection itself), at most once per
 * `minIntervalMs` (a collection inside the interval gets a trim at its end: the last one is never
 * skipped). Returns false where trimming is unavailable. Idempotent.
 */
export function startMallocTrim(opts: { log: Logger; minIntervalMs?: number; settleMs?: number }): boolean {
  if (trimmer) return true;
  const trim = loadMallocTrim(opts.log);
  if (!trim) return false;
  const minIntervalMs = opts.minIntervalMs ?? 1_000;
  const settleMs = opts.settleMs ?? 200;
  let lastStart = 0;
  let running = false;

  const run = () => {
    if (!trimmer) return;
    trimmer.timer = undefined;
    if (running) return schedule();
    running = true;
    lastStart = Date.now();
    const startedAt = process.hrtime.bigint();
    trim.async(0, (err) => {
      running = false;
      if (err) {
        stats.failures++;
        opts.log.warn({ err }, 'malloc_trim failed');
        return;
      }
      stats.trims++;
      stats.seconds += Number(process.hrtime.bigint() - startedAt) / 1e9;
    });
  };
  const schedule = () => {
    if (!trimmer || trimmer.timer) return;
    trimmer.timer = setTimeout(run, Math.max(settleMs, lastStart + minIntervalMs - Date.now()));
    trimmer.timer.unref();
  };
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some(isMajorCollection)) schedule();
  });
  observer.observe({ entryTypes: ['gc'] });
  trimmer = { observer, timer: undefined };
  return true;
}

export function stopMallocTrim(): void {
  if (!trimmer) return;
  trimmer.observer.disconnect();
  clearTimeout(trimmer.timer);
  trimmer = undefined;
}

function isMajorCollection(entry: PerformanceEntry): boolean {
  const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
  return detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}
