import { describe, expect, it } from 'vitest';
import { allocatorSetup, findJemalloc } from './allocator.js';

const JE = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

describe('allocatorSetup', () => {
  it('runs glibc unless jemalloc is asked for, preloads it when asked, and refuses it where it is missing', () => {
    expect(allocatorSetup(undefined, JE)).toEqual({ allocator: 'glibc', env: {} });
    expect(allocatorSetup('glibc', JE)).toEqual({ allocator: 'glibc', env: {} });
    expect(allocatorSetup('jemalloc', JE)).toEqual({ allocator: 'jemalloc', env: { LD_PRELOAD: JE } });
    expect(() => allocatorSetup('jemalloc', null)).toThrow(/not found/);
    expect(() => allocatorSetup('tcmalloc', JE)).toThrow(/must be one of/);
  });

  it('finds the library on the usual paths', () => {
    expect(findJemalloc((p) => p === '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2')).toBe('/usr/lib/aarch64-linux-gnu/libjemalloc.so.2');
    expect(findJemalloc(() => false)).toBeUndefined();
  });
});
