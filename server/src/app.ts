import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDefaultBotClassifier } from './abuse/bot-classifier.js';
import { createProofOfWorkChallenge } from './abuse/challenge.js';
import { createJoinGuard } from './abuse/join-guard.js';
import type { Config } from './config/config.js';
import { createPublisher } from './events/publisher.js';
import type { EventBus } from './events/types.js';
import { createClientIpResolver, createIpHasher } from './http/client-ip.js';
import { createIpRateLimiter } from './http/rate-limit.js';
import { mountRoutes, type MountedRoute, type RequestContext } from './http/router.js';
import { adminRoutes, createAdminCheck } from './http/routes/admin.js';
import { originRoutes } from './http/routes/origin.js';
import { dashboardRoutes } from './http/routes/dashboard.js';
import { systemRoutes, type HealthReport } from './http/routes/system.js';
import { visitorRoutes } from './http/routes/visitor.js';
import { waitingPageRoutes } from './http/routes/waiting-page.js';
import { DEFAULT_TEMPLATE, loadLocales } from './http/waiting-page/render.js';
import { buildBrowserBundle } from '../../client-sdk/build/bundle.js';
import { assertNativeUws, uWS, type TemplatedApp, type us_listen_socket } from './http/uws.js';
import type { Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createDashboardFeed } from './realtime/dashboard-feed.js';
import { mountDashboardSocket } from './realtime/dashboard-socket.js';
import { connectEventBus, connectStore, createTokens, readConfigFile } from './infrastructure.js';
import { createHub } from './realtime/hub.js';
import { mountWebSocket } from './realtime/ws-server.js';
import { startAdmissionLoop } from './services/admission-loop.js';
import { createPositionService } from './services/positions.js';
import { createQueueDirectory } from './services/queues.js';
import { createSessionService } from './services/sessions.js';
import type { QueueStore } from './store/types.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface AppOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** The node's own clock (ms); tests set one node apart to prove admissions don't depend on it. */
  clock?: () => number;
}

export interface WaitingRoomNode {
  readonly nodeId: string;
  readonly port: number;
  readonly nodeNumber: number;
  readonly store: QueueStore;
  readonly bus: EventBus;
  /** The HTTP routes this node serves (the WebSocket path `/ws/queues/:queue_id` is not among them). */
  readonly routes: readonly MountedRoute[];
  close(): Promise<void>;
}

/**
 * uWS cannot bind a port while connections a previous process closed on it linger in
 * TIME_WAIT (up to a minute after a restart on a fixed port): keep trying for a while.
 */
async function listenWithRetry(app: TemplatedApp, host: string, port: number, retryMs: number, log: Logger) {
  const deadline = Date.now() + retryMs;
  for (let attempt = 1; ; attempt++) {
    const socket = await new Promise<us_listen_socket | false>((resolve) => app.listen(host, port, resolve));
    if (socket) return socket;
    if (Date.now() >= deadline) throw new Error(`Cannot listen on ${host}:${port}`);
    if (attempt === 1) log.warn({ host, port }, 'port busy (connections of a previous process linger?); retrying');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The composition root: builds one node from its config and starts serving. */
export async function startNode({ config, logger, clock = Date.now }: AppOptions): Promise<WaitingRoomNode> {
  assertNativeUws();
  const nodeId = `node-${randomUUID().slice(0, 8)}`;
  const log = logger.child({ node: nodeId });
  const metrics = createMetrics();

  const { store, redis } = await connectStore(config, log);
  const { bus, jetStream } = await connectEventBus(config, nodeId, log, metrics);
  metrics.eventBusConnected.set(bus.healthy() ? 1 : 0);
  const busGauge = setInterval(() => metrics.eventBusConnected.set(bus.healthy() ? 1 : 0), 1_000);
  const publish = createPublisher(bus, nodeId);
  const { tokens, ticketSecret } = await createTokens(config, log, clock);

  const ipSalt = config.ipSalt ?? randomBytes(16).toString('base64url');
  if (!config.ipSalt && redis) log.warn('IP_SALT is not set: per-IP limits are not shared between nodes');

  const guard = createJoinGuard({
    metrics,
    maxPositionsPerIp: config.maxPositionsPerIp,
    challenge:
      config.joinChallenge === 'pow'
        ? createProofOfWorkChallenge({
            secret: new TextEncoder().encode(ticketSecret),
            difficulty: config.joinChallengeDifficulty,
            ttlSeconds: config.joinChallengeTtlSeconds,
            clock,
          })
        : undefined,
    challengeTtlSeconds: config.joinChallengeTtlSeconds,
    classifier: config.botTarpit
      ? createDefaultBotClassifier({ userAgentPattern: config.botUserAgentPattern, maxStrikes: config.botMaxStrikes, redis })
      : undefined,
    redis,
  });

  const queues = createQueueDirectory({
    store,
    publish,
    autoCreate: config.queueAutoCreate,
    maxAutoCreated: config.maxAutoCreatedQueues,
    defaultTargetUrl: config.defaultTargetUrl,
  });
  const positions = createPositionService({
    store,
    queues,
    tokens,
    publish,
    metrics,
    ticketReuseMinRemainingMs: (config.ticketTtlSeconds * 1000) / 2,
    guard,
    clock,
  });
  const sessions = createSessionService({ store, queues, tokens, publish, metrics });
  const loop = startAdmissionLoop({
    store,
    publish,
    metrics,
    log,
    tickMs: config.admissionTickMs,
    sweepIntervalMs: config.sweepIntervalMs,
    pruneIpLimits: config.maxPositionsPerIp > 0,
  });
  const startedAt = Date.now();
  let bundle: Promise<string> | undefined;
  const browserBundle = () =>
    (bundle ??= buildBrowserBundle().catch((err: unknown) => {
      bundle = undefined; // a later request tries again
      throw err;
    }));
  const admin = createAdminCheck(config.adminApiKey);
  const nodeNumber = await store.registerNode();
  const hub = createHub({
    store,
    positions,
    queues,
    tokens,
    bus,
    metrics,
    log,
    nodeNumber,
    tickMs: config.positionTickMs,
    leaseTtlMs: config.nodeLeaseTtlMs,
    gapGraceMs: Math.max(1_000, config.positionTickMs),
    ticketRefreshBelowMs: (config.ticketTtlSeconds * 1000) / 3,
    clock,
  });
  const resolveClientIp = createClientIpResolver(config.trustedProxies);
  const enqueueLimiter = createIpRateLimiter({ name: 'enqueue', pointsPerMinute: config.enqueueRateLimitPerMinute, redis, metrics });
  const statusLimiter = createIpRateLimiter({ name: 'status', pointsPerMinute: config.statusRateLimitPerMinute, redis, metrics });
  const hashIp = createIpHasher(ipSalt);
  const ipKey = (ctx: RequestContext) => hashIp(ctx.clientIp);

  async function health(): Promise<HealthReport> {
    const storeUp = await store.ping().catch(() => false);
    return {
      // Without NATS admissions go on and pushes degrade: the node stays healthy, and says so.
      healthy: storeUp,
      components: {
        dragonflydb: redis ? (storeUp ? 'healthy' : 'unhealthy') : 'embedded',
        nats: jetStream ? (jetStream.healthy() ? 'healthy' : 'unhealthy') : 'embedded',
      },
    };
  }

  const app = uWS.App();
  const router = mountRoutes(
    app,
    [
      ...systemRoutes({ version: VERSION, nodeId, startedAt, health, jwks: () => tokens.jwks(), registry: metrics.registry }),
      ...visitorRoutes({ positions, sessions, isAdmin: admin.matches, ipKey, enqueueLimiter, guard, statusLimiter }),
      ...originRoutes({
        sessions,
        publicUrl: config.publicUrl,
        cookieName: config.sessionCookieName,
        ipKey,
        limiter: statusLimiter,
      }),
      ...adminRoutes({ admin, queues, sessions, store, tokens, onQueueCreated: loop.track }),
      ...waitingPageRoutes({
        queues,
        template: readConfigFile('WAITING_PAGE_TEMPLATE', config.waitingPageTemplate, (f) => readFileSync(f, 'utf8')) ?? DEFAULT_TEMPLATE,
        locales: readConfigFile('WAITING_PAGE_STRINGS', config.waitingPageStrings, loadLocales) ?? loadLocales(undefined),
        autoCreate: config.queueAutoCreate,
        bundle: browserBundle,
      }),
      ...dashboardRoutes(),
    ],
    { logger: log, metrics, maxBodyBytes: config.maxBodyBytes, resolveClientIp },
  );
  const sockets = mountWebSocket(app, {
    hub,
    positions,
    metrics,
    log,
    nodeNumber,
    ipKey: (peer, forwardedFor) => hashIp(resolveClientIp(peer, forwardedFor)),
    joinLimiter: enqueueLimiter,
    guard,
    maxSocketsPerIp: config.wsMaxSocketsPerIp,
    idleTimeoutSeconds: config.wsIdleTimeoutSeconds,
    maxBackpressureBytes: config.wsMaxBackpressureBytes,
    joinTimeoutMs: config.wsJoinTimeoutMs,
  });

  const dashboardSocket = mountDashboardSocket(app, {
    feed: () => dashboard,
    checkKey: admin.enabled ? admin.matchesKey : undefined,
    log,
  });
  const dashboard = createDashboardFeed({
    store,
    queues,
    bus,
    publish,
    log,
    nodeId,
    localSockets: () => hub.socketsByQueue(),
    broadcast: dashboardSocket.broadcast,
  });

  const listenSocket = await listenWithRetry(app, config.host, config.port, config.listenRetryMs, log);
  const port = uWS.us_socket_local_port(listenSocket);
  log.info({ port, store: redis ? 'dragonfly' : 'memory' }, 'waiting room listening');

  let closing: Promise<void> | undefined;
  return {
    nodeId,
    port,
    nodeNumber,
    store,
    bus,
    routes: router.routes,
    close() {
      closing ??= (async () => {
        uWS.us_listen_socket_close(listenSocket);
        dashboardSocket.stop();
        await hub.drain();
        dashboard.close();
        sockets.stop();
        clearInterval(busGauge);
        const deadline = Date.now() + config.shutdownTimeoutMs;
        while (router.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await loop.stop();
        await bus.close();
        await store.close();
        if (redis) await redis.quit().catch(() => redis.disconnect());
        log.info('waiting room stopped');
      })();
      return closing;
    },
  };
}
