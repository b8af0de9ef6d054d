/**
 * The raw limit the server is compared with: Lua calls straight against the same Redis, from one
 * ioredis connection with auto-pipelining (the server's own connection settings), at the same
 * concurrency as the HTTP load.
 */
import type { Redis } from 'ioredis';
import { createPositionIdPool } from '../../../server/src/services/position-ids.js';
import { queueKeys } from '../../../server/src/store/keys.js';
import { createRedisQueueStore } from '../../../server/src/store/redis.js';
import { runClosedLoop, type ClosedLoopResult, type LoadLimit } from './closed-loop.js';

export const TRIVIAL_SCRIPT = "return redis.call('ZCARD', KEYS[1])";

/** EVALSHA of a one-command script (SCRIPT LOAD first) on the queue's waiting set. */
export async function benchTrivialEvalsha(
  redis: Redis,
  queueId: string,
  concurrency: number,
  limit: LoadLimit,
): Promise<ClosedLoopResult> {
  const sha = String(await redis.script('LOAD', TRIVIAL_SCRIPT));
  const key = queueKeys(queueId).wait;
  return runClosedLoop({
    concurrency,
    limit,
    operation: async () => typeof (await redis.evalsha(sha, 1, key)) === 'number',
  });
}

/**
 * The product's own enqueue script through the store's exported method, with position ids from
 * the server's id pool: exactly the store work of one REST enqueue, without HTTP, JSON or JWT.
 * The queue must exist (and be paused, so nothing is admitted).
 */
export async function benchStoreEnqueue(
  redis: Redis,
  queueId: string,
  concurrency: number,
  limit: LoadLimit,
): Promise<ClosedLoopResult> {
  const store = createRedisQueueStore(redis); // leaves the connection open on close()
  const nextPositionId = createPositionIdPool(store);
  return runClosedLoop({
    concurrency,
    limit,
    operation: async () => (await store.enqueue(queueId, await nextPositionId(queueId), 0)).kind === 'queued',
  });
}
