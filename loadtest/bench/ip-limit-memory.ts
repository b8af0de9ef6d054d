/**
 * Store memory per waiting visitor with and without the per-IP position limit
 * (MAX_POSITIONS_PER_IP): fills two fresh queues with `--visitors` positions through the Redis
 * store directly — every visitor from its own address, the worst case for the limit's buckets —
 * and measures each fill as the REST benchmark does (lib/store-memory.ts).
 *
 *   npx tsx loadtest/bench/ip-limit-memory.ts [--visitors 100000] [--redis-url redis://127.0.0.1:6379/0]
 */
import { createHash, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { ipLimitKey } from '../../server/src/abuse/join-guard.js';
import { defaultQueueSettings } from '../../server/src/domain/queue.js';
import { createRedisQueueStore } from '../../server/src/store/redis.js';
import type { IpLimit, QueueStore } from '../../server/src/store/types.js';
import { deleteQueue } from './lib/redis-inspect.js';
import { measureStoreMemory } from './lib/store-memory.js';

const { values } = parseArgs({
  options: { visitors: { type: 'string', default: '100000' }, 'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379/0' } },
});
const visitors = Number(values.visitors);
const redis = new Redis(values['redis-url'] as string);
const store: QueueStore = createRedisQueueStore(redis);

/** An address key as the join guard passes it: from a hashIp-shaped 22-character hash. */
const ipKeyOf = (i: number) => ipLimitKey(createHash('sha256').update(`visitor-${i}`).digest('base64url').slice(0, 22));

async function fill(queueId: string, limit: boolean): Promise<void> {
  const at = new Date().toISOString();
  await store.createQueue({ id: queueId, ...defaultQueueSettings(queueId, 'https://shop.example/'), status: 'paused', max_queue_size: visitors * 2, created_at: at, updated_at: at });
  for (let done = 0; done < visitors; ) {
    const ids = (await store.reservePositionIds(queueId)).slice(0, visitors - done);
    await Promise.all(
      ids.map(async (id, i) => {
        const ipLimit: IpLimit | undefined = limit ? { key: ipKeyOf(done + i), max: 20 } : undefined;
        const result = await store.enqueue(queueId, id, 0, undefined, ipLimit);
        if (result.kind !== 'queued') throw new Error(`enqueue refused: ${result.kind}`);
      }),
    );
    done += ids.length;
  }
}

const results: Record<string, unknown> = {};
for (const limit of [false, true]) {
  const queueId = `bench-ipmem-${randomUUID().slice(0, 8)}`;
  const m = await measureStoreMemory(redis, queueId, () => fill(queueId, limit));
  results[limit ? 'with_ip_limit' : 'without_ip_limit'] = {
    visitors: m.visitors,
    used_memory_bytes_per_visitor: Math.round(m.usedMemoryBytesPerVisitor * 10) / 10,
    memory_usage_bytes_per_visitor: Math.round(m.memoryUsageBytesPerVisitor * 10) / 10,
    by_kind: Object.fromEntries(Object.entries(m.memoryUsageBytesPerVisitorByKind).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    keys: m.keys,
    foreign_keys: m.foreignKeys,
  };
  await deleteQueue(redis, queueId);
}
console.log(JSON.stringify(results, null, 2));
await store.close();
redis.disconnect();
