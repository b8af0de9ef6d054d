/**
 * The outside world a node is built on, from its config: the store (DragonFly, or in memory),
 * the event bus (JetStream, or in process) and the token keys — each with the loud warning an
 * operator needs when a single-node default stands in for a shared setting.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError, type Config } from './config/config.js';
import { createJetStreamEventBus, type JetStreamEventBus } from './events/jetstream.js';
import { createMemoryEventBus } from './events/memory.js';
import type { EventBus } from './events/types.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { createMemoryQueueStore } from './store/memory.js';
import { createRedisQueueStore } from './store/redis.js';
import type { QueueStore } from './store/types.js';
import { loadGrantKeys } from './tokens/grant-keys.js';
import { generateEphemeralSigningKeys, loadSigningKeys } from './tokens/keys.js';
import { createTokenService, type TokenService } from './tokens/tokens.js';

/** Reads an operator's file named by a setting; a bad file stops start-up naming the setting. */
export function readConfigFile<T>(variable: string, file: string | undefined, read: (file: string) => T): T | undefined {
  if (file === undefined) return undefined;
  try {
    return read(file);
  } catch (err) {
    throw new ConfigError(variable, `cannot use ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function connectStore(config: Readonly<Config>, log: Logger): Promise<{ store: QueueStore; redis: Redis | undefined }> {
  if (!config.dragonflyUrl) {
    log.info('DRAGONFLYDB_URL is not set: embedded in-memory store (single node only)');
    return { store: createMemoryQueueStore(), redis: undefined };
  }
  const redis = new Redis(config.dragonflyUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'store connection error'));
  await redis.connect();
  return { store: createRedisQueueStore(redis), redis };
}

/** JetStream when NATS_URL is set (`jetStream` then reports NATS health), else the in-process bus. */
export async function connectEventBus(
  config: Readonly<Config>,
  nodeId: string,
  log: Logger,
  metrics: Metrics,
): Promise<{ bus: EventBus; jetStream: JetStreamEventBus | undefined }> {
  const onHandlerError = (err: unknown) => log.error({ err }, 'event handler failed');
  if (!config.natsUrl) {
    log.info('NATS_URL is not set: in-process event bus (single node only)');
    return { bus: createMemoryEventBus(onHandlerError), jetStream: undefined };
  }
  const jetStream = await createJetStreamEventBus({
    url: config.natsUrl,
    nodeId,
    streamName: config.natsStream,
    subjectPrefix: config.natsSubjectPrefix,
    replicas: config.natsStreamReplicas,
    maxAgeSeconds: config.natsStreamMaxAgeSeconds,
    log,
    onPublishFailure: () => metrics.eventPublishFailures.inc(),
    onHandlerError,
  });
  return { bus: jetStream, jetStream };
}

/** The token service, and the ticket secret it uses (the join challenge derives its key from it). */
export async function createTokens(
  config: Readonly<Config>,
  log: Logger,
  clock: () => number,
): Promise<{ tokens: TokenService; ticketSecret: string }> {
  const ticketSecret = config.ticketSecret ?? randomBytes(32).toString('base64url');
  if (!config.ticketSecret) {
    log.warn('TICKET_SECRET is not set: using an ephemeral secret; other nodes cannot read this node\'s tickets');
  }
  const signingKeys =
    config.jwtPrivateKeyFiles.length > 0
      ? await loadSigningKeys({ privateKeyFiles: config.jwtPrivateKeyFiles, alg: config.jwtAlg })
      : await generateEphemeralSigningKeys(config.jwtAlg);
  if (config.jwtPrivateKeyFiles.length === 0) {
    log.warn('JWT_PRIVATE_KEY_FILE is not set: using an ephemeral signing key; several nodes cannot share it');
  }
  const grantKeys = readConfigFile('GRANT_PUBLIC_KEY_FILE', config.grantPublicKeyFiles.join(',') || undefined, () =>
    loadGrantKeys(config.grantPublicKeyFiles),
  );
  const tokens = createTokenService({
    ticketSecret: new TextEncoder().encode(ticketSecret),
    grantKeys: grantKeys ?? [],
    signingKeys,
    issuer: config.jwtIssuer,
    ticketTtlSeconds: config.ticketTtlSeconds,
    clock,
  });
  return { tokens, ticketSecret };
}
