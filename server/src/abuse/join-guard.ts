/**
 * The abuse checks of a join that asks for a new place (resuming with a ticket never meets
 * them): the bot classifier (suspects go to the tarpit), the join challenge, and the per-IP
 * limit on concurrent positions (enforced atomically by the store; this decides what a refusal
 * looks like). REST and WebSocket joins both pass through here, via the position service.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../domain/errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { IpLimit } from '../store/types.js';
import type { ChallengeReason } from '../../../client-sdk/src/protocol.js';
import type { BotClassifier, JoinClient, SuspectReason } from './bot-classifier.js';
import type { ChallengeData, ChallengeSolution, JoinChallenge } from './challenge.js';

/** A join needs a (new) challenge answered: REST 428 with the challenge, a `challenge` message on a socket. */
export class ChallengeRequiredError extends AppError {
  constructor(
    readonly challenge: ChallengeData,
    readonly reason: ChallengeReason,
  ) {
    const why = {
      required: 'This queue asks new visitors to solve a challenge first',
      invalid: 'The challenge solution is not valid',
      expired: 'The challenge expired',
      replayed: 'The challenge was already used',
    }[reason];
    super('CHALLENGE_REQUIRED', `${why}; solve the new challenge and join again`, { reason, challenge });
  }
}

/**
 * The address as the store keeps it for the per-IP limit: 12 characters (72 bits) of the salted
 * hash are plenty to tell a queue's addresses apart, and ten bytes per waiting visitor cheaper.
 */
export const ipLimitKey = (ipKey: string): string => ipKey.slice(0, 12);

export interface JoinGuardOptions {
  metrics: Metrics;
  /** Most waiting positions per address and queue; 0: no limit. */
  maxPositionsPerIp: number;
  challenge?: JoinChallenge;
  /** How long an issued challenge is valid (a used one is remembered this long). */
  challengeTtlSeconds?: number;
  classifier?: BotClassifier;
  /** Shares used challenges (and strikes) between nodes; in memory without it. */
  redis?: Redis;
}

export interface JoinGuard {
  /** The store-side limit for a new position of this client, if any. */
  ipLimit(client: JoinClient): IpLimit | undefined;
  /**
   * Before a new place is made: the reason this client is a suspected bot (tarpit it), or null
   * (go on). Throws ChallengeRequiredError while the challenge is not answered.
   */
  screen(queueId: string, client: JoinClient, solution: ChallengeSolution | undefined): Promise<SuspectReason | null>;
  /** The store refused a new place: this address already has `waiting` positions. */
  positionsLimited(queueId: string, client: JoinClient, waiting: number): Promise<AppError>;
  /** Another per-IP limit refused this client (counts towards the bot classifier). */
  refused(client: JoinClient): Promise<void>;
}

export function createJoinGuard(opts: JoinGuardOptions): JoinGuard {
  const { metrics, challenge, classifier } = opts;
  const ttl = opts.challengeTtlSeconds ?? 120;
  // A used challenge id is remembered a little longer than any challenge lives: single use.
  const usedOptions = { points: 1, duration: ttl + 10, keyPrefix: 'wr:challenge-used' };
  const used: RateLimiterAbstract = opts.redis
    ? new RateLimiterRedis({ ...usedOptions, storeClient: opts.redis, insuranceLimiter: new RateLimiterMemory(usedOptions) })
    : new RateLimiterMemory(usedOptions);

  async function firstUse(id: string): Promise<boolean> {
    try {
      await used.consume(id);
      return true;
    } catch (err) {
      if (err instanceof RateLimiterRes) return false;
      throw err;
    }
  }

  function demand(queueId: string, client: JoinClient, reason: ChallengeReason): ChallengeRequiredError {
    metrics.joinChallenges.inc({ outcome: 'issued' });
    return new ChallengeRequiredError((challenge as JoinChallenge).issue({ queueId, ipKey: client.ipKey }), reason);
  }

  return {
    ipLimit(client) {
      return opts.maxPositionsPerIp > 0 ? { key: ipLimitKey(client.ipKey), max: opts.maxPositionsPerIp } : undefined;
    },

    async screen(queueId, client, solution) {
      const suspect = classifier ? await classifier.classify(client) : null;
      if (suspect) {
        metrics.tarpittedJoins.inc({ queue_id: queueId, reason: suspect });
        return suspect;
      }
      if (!challenge) return null;
      if (!solution) throw demand(queueId, client, 'required');
      const verdict = challenge.verify(solution, { queueId, ipKey: client.ipKey });
      const failure = !verdict.ok ? verdict.reason : (await firstUse(verdict.id)) ? null : 'replayed';
      if (failure) {
        metrics.joinChallenges.inc({ outcome: 'failed' });
        await classifier?.strike(client);
        throw demand(queueId, client, failure);
      }
      metrics.joinChallenges.inc({ outcome: 'solved' });
      return null;
    },

    async positionsLimited(queueId, client, waiting) {
      metrics.rejectedJoins.inc({ queue_id: queueId, reason: 'ip_positions' });
      await classifier?.strike(client);
      return new AppError(
        'RATE_LIMITED',
        `This address already has ${waiting} places waiting in this queue (at most ${opts.maxPositionsPerIp}); wait until one is admitted or leave one`,
        { limit: 'positions_per_ip', max: opts.maxPositionsPerIp },
      );
    },

    async refused(client) {
      await classifier?.strike(client);
    },
  };
}
