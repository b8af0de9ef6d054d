/**
 * Child process of native-memory.test.ts: a burst of short-lived native allocations with a few
 * long-lived ones among them, then a major collection; prints how much resident memory that
 * collection gave back, with malloc_trim on (`on`) or off (`off`). A fresh process per reading,
 * so one reading's holes are not the next one's room.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mallocTrimStats, startMallocTrim } from '../../src/native-memory.js';
import { createLogger } from '../../src/observability/logger.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const trimming = process.argv[2] === 'on' && startMallocTrim({ log: createLogger('silent'), minIntervalMs: 100 });

// 64 MB of small Buffers (each malloc'd by Node), one in a hundred kept — the last one too, so
// glibc's own trimming of the top of its heap cannot give anything back.
const all: Buffer[] = [];
for (let i = 0; i < 320_000; i++) all.push(Buffer.alloc(200, i));
const kept = all.filter((_, i) => i % 100 === 0 || i === all.length - 1);
all.length = 0;
const before = process.memoryUsage().rss;
gc();
for (const deadline = Date.now() + 3_000; trimming && mallocTrimStats().trims === 0 && Date.now() < deadline; ) await sleep(10);
await sleep(200);
process.stdout.write(
  JSON.stringify({ trimming, kept: kept.length, releasedBytes: before - process.memoryUsage().rss, ...mallocTrimStats() }) + '\n',
);
