/**
 * The dashboard's history samples (QueueStore.recordHistory / history) on both stores: the
 * in-memory one and Redis (database 12, shared with the dashboard e2e test; queues here stay
 * paused so that file's admission loops leave them alone).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultQueueSettings, type QueueConfig } from '../../src/domain/queue.js';
import { createMemoryQueueStore } from '../../src/store/memory.js';
import { createRedisQueueStore } from '../../src/store/redis.js';
import type { QueueStore } from '../../src/store/types.js';
import { redisUrlFor, uniqueQueueId } from '../support/nodes.js';

const HOUR = 3_600_000;
const opened: QueueStore[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

function config(id: string): QueueConfig {
  return {
    ...defaultQueueSettings(id, 'https://shop.example/'),
    id,
    status: 'paused',
    admission_rate_per_minute: 120,
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  };
}

const stores: [string, () => QueueStore][] = [
  ['memory', () => createMemoryQueueStore()],
  [
    'redis',
    () => {
      const store = createRedisQueueStore(redisUrlFor(12));
      opened.push(store);
      return store;
    },
  ],
];

describe.each(stores)('history samples (%s store)', (_name, makeStore) => {
  it('records the queue’s counts once per bucket, whoever offers first', async () => {
    const store = makeStore();
    const q = uniqueQueueId('hist');
    expect(await store.recordHistory(q, HOUR, 2 * HOUR, 0)).toBe(false); // no queue yet
    await store.createQueue(config(q));
    const ids = await store.reservePositionIds(q);
    for (const id of ids.slice(0, 3)) await store.enqueue(q, id, 0);
    await store.leave(q, ids[0]!);

    // Several nodes offering a sample in the same bucket: one is kept.
    const offers = await Promise.all([1, 2, 3].map((n) => store.recordHistory(q, HOUR, 2 * HOUR, 7 * n)));
    expect(offers.filter(Boolean)).toHaveLength(1);
    const samples = await store.history(q, 0);
    expect(samples).toHaveLength(1);
    const now = await store.now();
    expect(samples[0]).toMatchObject({
      waiting: 2,
      active: 0,
      totalEnqueued: 3,
      totalAdmitted: 0,
      totalCancelled: 1,
      admissionRatePerMinute: 120,
      status: 'paused',
    });
    expect([7, 14, 21]).toContain(samples[0]!.sockets);
    expect(Math.abs(samples[0]!.at - now)).toBeLessThan(1_000);
  });

  it('keeps one sample per bucket, oldest first, and drops those past retention', async () => {
    const store = makeStore();
    const q = uniqueQueueId('hist');
    await store.createQueue(config(q));
    const bucketMs = 100;
    for (let i = 0; i < 6; i++) {
      expect(await store.recordHistory(q, bucketMs, 250, i)).toBe(true);
      await sleep(bucketMs + 15);
    }
    const samples = await store.history(q, 0);
    // Retention 250 ms with 100 ms buckets: the current bucket and at most the two before it.
    expect(samples.length).toBeGreaterThanOrEqual(1);
    expect(samples.length).toBeLessThanOrEqual(3);
    expect(samples.map((s) => s.sockets)).toEqual([0, 1, 2, 3, 4, 5].slice(-samples.length));
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.at).toBeGreaterThan(samples[i - 1]!.at);
    // `since` is a bucket start: asking from the last sample's bucket returns just that one.
    const last = samples.at(-1)!;
    expect((await store.history(q, last.at - (last.at % bucketMs))).map((s) => s.sockets)).toEqual([5]);
    expect(await store.history(q, last.at + bucketMs)).toEqual([]);
  });

  it('rejects a bucket or retention that would make no sense', async () => {
    const store = makeStore();
    const q = uniqueQueueId('hist');
    await expect(store.recordHistory(q, 10, 1_000, 0)).rejects.toThrow(RangeError);
    await expect(store.recordHistory(q, 1_000, 500, 0)).rejects.toThrow(RangeError);
    await expect(store.recordHistory(q, 1_000, 5_000, -1)).rejects.toThrow(RangeError);
  });
});
