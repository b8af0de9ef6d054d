/**
 * Which malloc the benchmark's server processes run with. The production image (Dockerfile)
 * preloads jemalloc, so the benchmark does the same where the library is installed (Debian:
 * `libjemalloc2`) and says so; `--allocator glibc` measures Node's default instead. The bare
 * uWS baseline runs with the same allocator as the waiting room.
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

/**
 * The allocator asked for (default: jemalloc when installed, else glibc) and the environment
 * that selects it. Asking for jemalloc where it is not installed is an error, not a silent glibc run.
 */
export function allocatorSetup(
  requested: string | undefined,
  /** Where libjemalloc is (null: not installed); looked up when not given. */
  jemallocPath: string | null = findJemalloc() ?? null,
): { allocator: Allocator; env: Record<string, string>; notice?: string } {
  if (requested !== undefined && !(ALLOCATORS as readonly string[]).includes(requested)) {
    throw new Error(`--allocator must be one of ${ALLOCATORS.join(', ')}, got "${requested}"`);
  }
  const allocator = (requested as Allocator | undefined) ?? (jemallocPath ? 'jemalloc' : 'glibc');
  if (allocator === 'glibc') {
    return {
      allocator,
      env: {},
      ...(requested === undefined ? { notice: 'jemalloc is not installed (Debian: libjemalloc2): servers run on glibc malloc' } : {}),
    };
  }
  if (!jemallocPath) throw new Error('--allocator jemalloc: libjemalloc.so.2 not found (Debian: apt-get install libjemalloc2)');
  return { allocator, env: { LD_PRELOAD: jemallocPath } };
}
