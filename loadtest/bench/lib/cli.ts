/** Flag helpers shared by the benchmarks. */
import type { LoadLimit } from './closed-loop.js';

export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

/** --requests N wins over --duration S (seconds). */
export function loadLimit(requests: number | undefined, durationSeconds: number): LoadLimit {
  return requests !== undefined ? { requests } : { durationMs: durationSeconds * 1000 };
}

export function describeLimit(limit: LoadLimit): string {
  return 'requests' in limit ? `${limit.requests} requests` : `${limit.durationMs / 1000} s`;
}
