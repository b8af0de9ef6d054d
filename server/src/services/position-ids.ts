import type { QueueStore } from '../store/types.js';

/**
 * Hands out position ids from blocks this node reserved in the store, so a join costs one store
 * call, not two. Concurrent joins while a block is being fetched share the one fetch.
 */
export function createPositionIdPool(store: QueueStore) {
  const pools = new Map<string, { ids: string[]; refill: Promise<void> | null }>();

  return async function nextPositionId(queueId: string): Promise<string> {
    let pool = pools.get(queueId);
    if (!pool) {
      pool = { ids: [], refill: null };
      pools.set(queueId, pool);
    }
    for (;;) {
      const id = pool.ids.pop();
      if (id !== undefined) return id;
      const current = pool;
      current.refill ??= store
        .reservePositionIds(queueId)
        .then((ids) => {
          // Handed out lowest first, so a block's heartbeat shard fills in order.
          current.ids.push(...ids.reverse());
        })
        .finally(() => {
          current.refill = null;
        });
      await current.refill;
    }
  };
}
