import { z } from 'zod';
import { isIP } from 'node:net';
import { DEFAULT_BOT_USER_AGENT_PATTERN } from '../abuse/bot-classifier.js';

/**
 * The only reader of process.env. Every setting is validated once at start-up; a bad value
 * stops the server with a message naming the variable.
 */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const JWT_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .min(1)
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `must be a URL with scheme ${protocols.join(' or ')}`)
    .optional();

const schema = z.object({
  PORT: intIn(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DRAGONFLYDB_URL: optionalUrl(['redis:', 'rediss:']),
  NATS_URL: optionalUrl(['nats:', 'tls:', 'ws:', 'wss:']),
  IP_SALT: z.string().min(8, 'must be at least 8 characters').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  TICKET_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  JWT_ALG: z.enum(JWT_ALGS).default('RS256'),
  GRANT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default('waiting-room'),
  TRUSTED_PROXIES: z.string().default(''),
  TICKET_TTL_SECONDS: intIn(60, 86_400).default(900),
  QUEUE_AUTO_CREATE: bool.default(true),
  MAX_AUTO_CREATED_QUEUES: intIn(0, 100_000).default(100),
  DEFAULT_TARGET_URL: optionalUrl(['http:', 'https:']).default('http://localhost:3000/'),
  ENQUEUE_RATE_LIMIT_PER_MINUTE: intIn(0, 1_000_000).default(30),
  STATUS_RATE_LIMIT_PER_MINUTE: intIn(0, 1_000_000).default(600),
  ADMISSION_TICK_MS: intIn(50, 5_000).default(250),
  SWEEP_INTERVAL_MS: intIn(100, 60_000).default(1_000),
  MAX_BODY_BYTES: intIn(1_024, 10_485_760).default(65_536),
  SHUTDOWN_TIMEOUT_MS: intIn(0, 120_000).default(10_000),
  LISTEN_RETRY_MS: intIn(0, 600_000).default(60_000),
  WORKERS: intIn(1, 256).default(1),
  /** Return the C allocator's free pages to the OS after major collections (native-memory.ts). */
  MALLOC_TRIM: bool.default(true),
  /** Set by the supervisor for its worker processes; not for operators. */
  WORKER_ID: intIn(0, 255).optional(),
  POSITION_TICK_MS: intIn(100, 10_000).default(1_000),
  NODE_LEASE_TTL_MS: intIn(1_000, 600_000).default(5_000),
  WS_MAX_SOCKETS_PER_IP: intIn(1, 10_000_000).default(50),
  WS_IDLE_TIMEOUT_SECONDS: intIn(8, 960).default(60),
  WS_MAX_BACKPRESSURE_BYTES: intIn(1_024, 64 * 1024 * 1024).default(256 * 1024),
  WS_JOIN_TIMEOUT_MS: intIn(100, 600_000).default(10_000),
  NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a JetStream stream name').default('WAITINGROOM'),
  NATS_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must be one subject token').default('waitingroom'),
  NATS_STREAM_REPLICAS: intIn(1, 5).default(1),
  WAITING_PAGE_TEMPLATE: z.string().min(1).optional(),
  WAITING_PAGE_STRINGS: z.string().min(1).optional(),
  NATS_STREAM_MAX_AGE_SECONDS: intIn(60, 30 * 86_400).default(3_600),
  PUBLIC_URL: optionalUrl(['http:', 'https:']),
  SESSION_COOKIE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a cookie name of letters, digits, _ and -')
    .default('wr_session'),
  MAX_POSITIONS_PER_IP: intIn(0, 1_000_000).default(0),
  JOIN_CHALLENGE: z.enum(['off', 'pow']).default('off'),
  JOIN_CHALLENGE_DIFFICULTY: intIn(1, 32).default(16),
  JOIN_CHALLENGE_TTL_SECONDS: intIn(10, 3_600).default(120),
  BOT_TARPIT: bool.default(false),
  BOT_USER_AGENT_PATTERN: z
    .string()
    .min(1)
    .refine((v) => {
      try {
        new RegExp(v, 'i');
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression')
    .default(DEFAULT_BOT_USER_AGENT_PATTERN),
  BOT_MAX_STRIKES: intIn(0, 1_000_000).default(10),
});

export type TrustedProxy = { kind: 'ip'; address: string } | { kind: 'cidr'; network: string; prefix: number };

export interface Config {
  port: number;
  host: string;
  dragonflyUrl: string | undefined;
  natsUrl: string | undefined;
  ipSalt: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  adminApiKey: string | undefined;
  ticketSecret: string | undefined;
  jwtPrivateKeyFiles: string[];
  jwtAlg: (typeof JWT_ALGS)[number];
  /** Public keys (PEM) of operators who sign priority grants with their own private key. */
  grantPublicKeyFiles: string[];
  jwtIssuer: string;
  trustedProxies: TrustedProxy[];
  ticketTtlSeconds: number;
  queueAutoCreate: boolean;
  maxAutoCreatedQueues: number;
  defaultTargetUrl: string;
  enqueueRateLimitPerMinute: number;
  statusRateLimitPerMinute: number;
  admissionTickMs: number;
  sweepIntervalMs: number;
  maxBodyBytes: number;
  shutdownTimeoutMs: number;
  listenRetryMs: number;
  workers: number;
  mallocTrim: boolean;
  workerId: number | undefined;
  positionTickMs: number;
  nodeLeaseTtlMs: number;
  wsMaxSocketsPerIp: number;
  wsIdleTimeoutSeconds: number;
  wsMaxBackpressureBytes: number;
  wsJoinTimeoutMs: number;
  natsStream: string;
  natsSubjectPrefix: string;
  natsStreamReplicas: number;
  waitingPageTemplate: string | undefined;
  waitingPageStrings: string | undefined;
  natsStreamMaxAgeSeconds: number;
  /** The waiting room's public base URL; /verify's waiting page URLs start with it ('' = a path). */
  publicUrl: string;
  sessionCookieName: string;
  maxPositionsPerIp: number;
  joinChallenge: 'off' | 'pow';
  joinChallengeDifficulty: number;
  joinChallengeTtlSeconds: number;
  botTarpit: boolean;
  botUserAgentPattern: RegExp;
  botMaxStrikes: number;
}

/** Every environment variable the server reads (docs and the compose check use this list). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export function parseTrustedProxies(value: string): TrustedProxy[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [address, prefixText] = entry.split('/');
      const family = isIP(address ?? '');
      if (!address || family === 0) throw new ConfigError('TRUSTED_PROXIES', `"${entry}" is not an IP address or CIDR`);
      if (prefixText === undefined) return { kind: 'ip', address };
      const prefix = Number(prefixText);
      const max = family === 4 ? 32 : 128;
      if (!/^\d+$/.test(prefixText) || prefix > max) {
        throw new ConfigError('TRUSTED_PROXIES', `"${entry}" has a bad prefix length`);
      }
      return { kind: 'cidr', network: address, prefix };
    });
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const present = Object.fromEntries(
    Object.keys(schema.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, issue?.message ?? 'invalid value');
  }
  const e = parsed.data;
  if (e.WORKERS > 1 && !e.DRAGONFLYDB_URL) {
    throw new ConfigError('WORKERS', 'several workers share one queue only through DragonFly: set DRAGONFLYDB_URL');
  }
  if (e.WORKERS > 1 && e.PORT === 0) throw new ConfigError('WORKERS', 'several workers need a fixed PORT, not 0');
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dragonflyUrl: e.DRAGONFLYDB_URL,
    natsUrl: e.NATS_URL,
    ipSalt: e.IP_SALT,
    logLevel: e.LOG_LEVEL,
    adminApiKey: e.ADMIN_API_KEY,
    ticketSecret: e.TICKET_SECRET,
    jwtPrivateKeyFiles: (e.JWT_PRIVATE_KEY_FILE ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    jwtAlg: e.JWT_ALG,
    grantPublicKeyFiles: (e.GRANT_PUBLIC_KEY_FILE ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== ''),
    jwtIssuer: e.JWT_ISSUER,
    trustedProxies: parseTrustedProxies(e.TRUSTED_PROXIES),
    ticketTtlSeconds: e.TICKET_TTL_SECONDS,
    queueAutoCreate: e.QUEUE_AUTO_CREATE,
    maxAutoCreatedQueues: e.MAX_AUTO_CREATED_QUEUES,
    defaultTargetUrl: e.DEFAULT_TARGET_URL,
    enqueueRateLimitPerMinute: e.ENQUEUE_RATE_LIMIT_PER_MINUTE,
    statusRateLimitPerMinute: e.STATUS_RATE_LIMIT_PER_MINUTE,
    admissionTickMs: e.ADMISSION_TICK_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    listenRetryMs: e.LISTEN_RETRY_MS,
    workers: e.WORKERS,
    mallocTrim: e.MALLOC_TRIM,
    workerId: e.WORKER_ID,
    positionTickMs: e.POSITION_TICK_MS,
    nodeLeaseTtlMs: e.NODE_LEASE_TTL_MS,
    wsMaxSocketsPerIp: e.WS_MAX_SOCKETS_PER_IP,
    wsIdleTimeoutSeconds: e.WS_IDLE_TIMEOUT_SECONDS,
    wsMaxBackpressureBytes: e.WS_MAX_BACKPRESSURE_BYTES,
    wsJoinTimeoutMs: e.WS_JOIN_TIMEOUT_MS,
    natsStream: e.NATS_STREAM,
    natsSubjectPrefix: e.NATS_SUBJECT_PREFIX,
    natsStreamReplicas: e.NATS_STREAM_REPLICAS,
    waitingPageTemplate: e.WAITING_PAGE_TEMPLATE,
    waitingPageStrings: e.WAITING_PAGE_STRINGS,
    natsStreamMaxAgeSeconds: e.NATS_STREAM_MAX_AGE_SECONDS,
    publicUrl: e.PUBLIC_URL ?? '',
    sessionCookieName: e.SESSION_COOKIE_NAME,
    maxPositionsPerIp: e.MAX_POSITIONS_PER_IP,
    joinChallenge: e.JOIN_CHALLENGE,
    joinChallengeDifficulty: e.JOIN_CHALLENGE_DIFFICULTY,
    joinChallengeTtlSeconds: e.JOIN_CHALLENGE_TTL_SECONDS,
    botTarpit: e.BOT_TARPIT,
    botUserAgentPattern: new RegExp(e.BOT_USER_AGENT_PATTERN, 'i'),
    botMaxStrikes: e.BOT_MAX_STRIKES,
  });
}
