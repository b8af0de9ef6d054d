import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { mallocTrimStats, startMallocTrim, stopMallocTrim } from '../../src/native-memory.js';
import { createLogger } from '../../src/observability/logger.js';
import { REPO_ROOT } from '../support/process.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error('timed out');
  }
}

interface BurstReading {
  trimming: boolean;
  kept: number;
  releasedBytes: number;
  trims: number;
  failures: number;
}

async function burst(trim: 'on' | 'off'): Promise<BurstReading> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'server/test/support/trim-burst.ts', trim], {
    cwd: REPO_ROOT,
  });
  return JSON.parse(stdout) as BurstReading;
}

describe('malloc_trim after major collections (glibc, Linux)', () => {
  afterAll(() => stopMallocTrim());

  it('returns the pages a burst of short-lived native allocations leaves between long-lived ones', async () => {
    const [off, on] = await Promise.all([burst('off'), burst('on')]);
    expect(off).toMatchObject({ trimming: false, kept: 3_201, trims: 0 });
    expect(on).toMatchObject({ trimming: true, kept: 3_201, failures: 0 });
    expect(on.trims).toBeGreaterThanOrEqual(1);
    // ~63 MB freed in pages that hold a kept Buffer every ~20 KB: only a trim gives them back.
    expect(on.releasedBytes - off.releasedBytes).toBeGreaterThan(40 * 1024 * 1024);
  });

  it('trims after a major collection, once more for collections inside the interval, not once each', async () => {
    expect(startMallocTrim({ log: createLogger('silent'), minIntervalMs: 200 })).toBe(true);
    expect(startMallocTrim({ log: createLogger('silent') })).toBe(true); // idempotent
    const before = mallocTrimStats().trims;
    gc();
    await until(() => mallocTrimStats().trims > before);
    gc();
    gc();
    gc();
    await until(() => mallocTrimStats().trims > before + 1);
    await sleep(500);
    // Four collections, two trims (a natural collection of the test runner's may add one).
    expect(mallocTrimStats().trims - before).toBeGreaterThanOrEqual(2);
    expect(mallocTrimStats().trims - before).toBeLessThanOrEqual(3);
    expect(mallocTrimStats().failures).toBe(0);
    expect(mallocTrimStats().seconds).toBeGreaterThan(0);
  });

  it('stops: no trims after stopMallocTrim', async () => {
    stopMallocTrim();
    await sleep(300);
    const before = mallocTrimStats().trims;
    gc();
    await sleep(400);
    expect(mallocTrimStats().trims).toBe(before);
  });
});
