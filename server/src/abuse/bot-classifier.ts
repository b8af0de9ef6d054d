/**
 * Which joins look like bots. Pluggable: the default looks at the User-Agent and at how often
 * an address has misbehaved lately (strikes: failed challenges, joins refused by a per-IP limit).
 * Suspects are not refused — they get a made-up place that never moves to the front (tarpit.ts),
 * so a bot learns nothing from its failures.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface JoinClient {
  /** The salted hash of the client's address (http/client-ip.ts). */
  ipKey: string;
  userAgent: string | undefined;
}

export type SuspectReason = 'no_user_agent' | 'scripted_user_agent' | 'repeated_failures';

export interface BotClassifier {
  /** Why this join is a suspected bot's, or null. */
  classify(client: JoinClient): Promise<SuspectReason | null>;
  /** The address did something a visitor rarely does (failed a challenge, hit a per-IP limit). */
  strike(client: JoinClient): Promise<void>;
}

export interface DefaultClassifierOptions {
  /** User-Agents of scripts and headless browsers. */
  userAgentPattern: RegExp;
  /** Strikes within STRIKE_WINDOW_SECONDS that make an address a suspect; 0: strikes never do. */
  maxStrikes: number;
  /** Shares strikes between nodes; in memory without it. */
  redis?: Redis;
}

const STRIKE_WINDOW_SECONDS = 600;

/** The default pattern: HTTP libraries, command-line tools and headless browsers. */
export const DEFAULT_BOT_USER_AGENT_PATTERN =
  '^(curl|wget|httpie|python|aiohttp|go-http-client|java/|okhttp|node|undici|axios|got|libwww|scrapy|php)|headlesschrome|phantomjs|puppeteer|playwright|selenium';

export function createDefaultBotClassifier(opts: DefaultClassifierOptions): BotClassifier {
  const options = { points: Math.max(1, opts.maxStrikes), duration: STRIKE_WINDOW_SECONDS, keyPrefix: 'wr:strikes' };
  const strikes: RateLimiterAbstract = opts.redis
    ? new RateLimiterRedis({ ...options, storeClient: opts.redis, insuranceLimiter: new RateLimiterMemory(options) })
    : new RateLimiterMemory(options);

  return {
    async classify({ ipKey, userAgent }) {
      const agent = userAgent?.trim() ?? '';
      if (agent === '') return 'no_user_agent';
      if (opts.userAgentPattern.test(agent)) return 'scripted_user_agent';
      if (opts.maxStrikes > 0) {
        const record = await strikes.get(ipKey);
        if (record && record.consumedPoints >= opts.maxStrikes) return 'repeated_failures';
      }
      return null;
    },
    async strike({ ipKey }) {
      if (opts.maxStrikes === 0) return;
      // penalty() adds points without refusing past the limit: the count is all we need.
      await strikes.penalty(ipKey, 1);
    },
  };
}
