import { Redis } from 'ioredis';
import { QUEUES_KEY, queueKeys } from '../../src/store/keys.js';

/**
 * The Redis database the store conformance suites share (unless REDIS_URL names one): no test
 * node runs there, so no admission loop or sweeper ticks their queues under them.
 */
export const STORE_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const STORE_REDIS_OPTIONS = { db: 9 };

/** A connection to that database, and the queues a suite made there, deleted at the end. */
export function createQueueJanitor() {
  const admin = new Redis(STORE_REDIS_URL, STORE_REDIS_OPTIONS);
  const ids: string[] = [];
  return {
    admin,
    track(id: string): void {
      ids.push(id);
    },
    async cleanup(): Promise<void> {
      for (const id of ids) {
        const tag = queueKeys(id).cfg.slice(0, -'cfg'.length);
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await admin.scan(cursor, 'MATCH', `${tag}*`, 'COUNT', 1000);
          keys.push(...batch);
          cursor = next;
        } while (cursor !== '0');
        for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
        await admin.srem(QUEUES_KEY, id);
      }
      await admin.quit();
    },
  };
}
