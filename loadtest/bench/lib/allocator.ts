/**
 * Which malloc the benchmark's server processes run with: glibc's (Node's default, what `npm
 * start` and the production image run) unless `--allocator jemalloc` preloads Debian's
 * `libjemalloc2` for comparison. The bare uWS baseline runs with the same one.
 */
import { existsSync } from 'node:fs';

export const ALLOCATORS = ['jemalloc', 'glibc'] as const;
export type Allocator = (typeof ALLOCATORS)[number];

const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
];

export function findJemalloc(exists: (path: string) => boolean = existsSync): string | undefined {
  return JEMALLOC_PATHS.find((p) => exists(p));
}

/** The allocator asked for (default glibc) and the environment that selects it. */
export function allocatorSetup(
  requested: string | undefined,
  /** Where libjemalloc is (null: not installed); looked up when not given. */
  jemallocPath: string | null = findJemalloc() ?? null,
): { allocator: Allocator; env: Record<string, string> } {
  if (requested !== undefined && !(ALLOCATORS as readonly string[]).includes(requested)) {
    throw new Error(`--allocator must be one of ${ALLOCATORS.join(', ')}, got "${requested}"`);
  }
  if (requested !== 'jemalloc') return { allocator: 'glibc', env: {} };
  if (!jemallocPath) throw new Error('--allocator jemalloc: libjemalloc.so.2 not found (Debian: apt-get install libjemalloc2)');
  return { allocator: 'jemalloc', env: { LD_PRELOAD: jemallocPath } };
}
