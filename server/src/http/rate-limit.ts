import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../domain/errors.js';
import type { Metrics } from '../observability/metrics.js';

export interface IpRateLimiter {
  /** Counts one request for this key; throws RATE_LIMITED (with headers) past the limit. */
  consume(key: string): Promise<Record<string, string>>;
}

/**
 * Per-IP limits over a fixed minute, shared by all nodes through the store when there is one
 * (with an in-memory limiter standing in while the store is unreachable). 0 disables a limit.
 */
export function createIpRateLimiter(opts: {
  name: string;
  pointsPerMinute: number;
  redis?: Redis;
  metrics: Metrics;
}): IpRateLimiter {
  const { name, pointsPerMinute } = opts;
  if (pointsPerMinute === 0) return { consume: async () => ({}) };
  const base = { points: pointsPerMinute, duration: 60, keyPrefix: `wr:rl:${name}` };
  const limiter: RateLimiterAbstract = opts.redis
    ? new RateLimiterRedis({ ...base, storeClient: opts.redis, insuranceLimiter: new RateLimiterMemory(base) })
    : new RateLimiterMemory(base);

  const headersOf = (res: RateLimiterRes) => ({
    'x-ratelimit-limit': String(pointsPerMinute),
    'x-ratelimit-remaining': String(Math.max(0, res.remainingPoints)),
    'x-ratelimit-reset': String(Math.ceil(res.msBeforeNext / 1000)),
  });

  return {
    async consume(key) {
      try {
        return headersOf(await limiter.consume(key));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        opts.metrics.rateLimited.inc({ limit: name });
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        throw new AppError(
          'RATE_LIMITED',
          `Too many requests from this address; retry in ${retryAfter} s`,
          { limit: name, retry_after_seconds: retryAfter },
          { ...headersOf(rejection), 'retry-after': String(retryAfter) },
        );
      }
    },
  };
}
