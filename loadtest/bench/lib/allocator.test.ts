import { describe, expect, it } from 'vitest';
import { allocatorSetup, findJemalloc } from './allocator.js';

const JE = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

describe('allocatorSetup', () => {
  it('preloads jemalloc by default where it is installed, and falls back to glibc with a notice', () => {
    expect(allocatorSetup(undefined, JE)).toEqual({ allocator: 'jemalloc', env: { LD_PRELOAD: JE } });
    expect(allocatorSetup(undefined, null)).toMatchObject({ allocator: 'glibc', env: {}, notice: expect.stringMatching(/libjemalloc2/) });
  });

  it('honours an explicit choice, and refuses jemalloc where it is missing or an unknown name', () => {
    expect(allocatorSetup('glibc', JE)).toEqual({ allocator: 'glibc', env: {} });
    expect(() => allocatorSetup('jemalloc', null)).toThrow(/not found/);
    expect(() => allocatorSetup('tcmalloc', JE)).toThrow(/must be one of/);
  });

  it('finds the library on the usual paths', () => {
    expect(findJemalloc((p) => p === '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2')).toBe('/usr/lib/aarch64-linux-gnu/libjemalloc.so.2');
    expect(findJemalloc(() => false)).toBeUndefined();
  });
});
