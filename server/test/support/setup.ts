import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { QUEUES_KEY } from '../../src/store/keys.js';
import { createdQueueIds, redisUrlFor, usedRedisDbs } from './nodes.js';

/**
 * After each test file: remove the queues it created from Redis, so the shared registry stays
 * small (every node's admission loop visits every registered queue) and Redis does not grow
 * from run to run.
 */
afterAll(async () => {
  const ids = [...createdQueueIds];
  for (const db of usedRedisDbs) await dropQueues(redisUrlFor(db), ids);
});

async function dropQueues(url: string, ids: string[]) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const id of ids) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `wr:{${id}}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      await redis.srem(QUEUES_KEY, id);
    }
  } catch {
    // Redis not reachable: the tests that needed it have already failed loudly.
  } finally {
    redis.disconnect();
  }
}
