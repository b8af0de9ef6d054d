/**
 * Real-time (WebSocket) benchmark: `npm run bench -- --sockets N` (flags and method:
 * docs/PERFORMANCE.md, "Real-time (WebSocket)").
 *
 * Starts `--servers` waiting-room processes (default one per 15,000 sockets) sharing Redis, NATS
 * (a JetStream stream of this run's own), a ticket secret and a signing key file, creates one
 * paused queue, then with `--generators` generator processes (loadtest/lib/generators.ts)
 * measures:
 *   1. joins/s: N sockets connect and `join`, from the first connect to the N-th `joined`;
 *   2. server RSS per socket and store bytes per waiting visitor: RSS growth from the idle
 *      servers to the servers holding every socket, both read after a full garbage collection
 *      (through the inspector the servers are started with, lib/inspector.ts — as the bare
 *      baseline is read after its own gc()) and once the RSS has settled (the allocator's
 *      decay), and also the growth 2 s after the join storm, garbage and all;
 *   3. fan-out: the queue turns active (`--admission-rate`, by default about a quarter of the
 *      queue by the end of the window), so every tick every waiting visitor's position falls and
 *      the server pushes a `position_update` to each; deliveries/s counted by the generators over
 *      a `--window` of whole seconds, cross-checked with waiting_room_websocket_messages_total;
 *   4. admission → client: from the store's admission instant (session_expires_at − the
 *      session duration) to the `admitted` frame's arrival, same machine, same clock;
 *   5. the bare baseline: the same N sockets, processes and generators against bare uWS
 *      publishers (lib/bare-baseline.ts), at the same 1 s tick and flat out.
 * Prints tables, then one JSON object as the last line of stdout (lib/realtime-report.ts).
 * Cleans up (processes, queue keys, stream, key file) on success, failure, Ctrl-C and SIGTERM.
 * Traffic goes to 127.0.0.x only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import type { QueueSettings } from '../../server/src/domain/queue.js';
import { queueKeys } from '../../server/src/store/keys.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../../server/src/tokens/keys.js';
import { storeAdmissionTimeMs } from '../lib/frames.js';
import { startGenerators, type GeneratorPool } from '../lib/generators.js';
import { SOCKETS_PER_PROCESS, loopbackAddresses, sourceAddressesFor, splitEvenly, unitsFor } from '../lib/plan.js';
import type { SwarmReport } from '../lib/swarm.js';
import { countBetween, mergeTimelines, type TimelineSpec } from '../lib/timeline.js';
import { nowMs } from '../lib/ws-visitor.js';
import { runBareBaseline, type BareBaselineResult } from './lib/bare-baseline.js';
import { nonNegativeInt, positiveInt } from './lib/cli.js';
import { allocatorSetup } from './lib/allocator.js';
import { withCpuShares } from './lib/cpu.js';
import { INSPECT_ARG, collectGarbage } from './lib/inspector.js';
import { deliveriesIn, measureWindow, sumOf, swarmPlans } from './lib/fanout-window.js';
import { benchStream, deleteStream } from './lib/nats-stream.js';
import { cleanUpOnSignals, pidListeningOn, processRssByMapping, processRssBytes, sumRssByMapping } from './lib/proc.js';
import { scrapeMetrics, sumSamples } from './lib/prometheus.js';
import { deleteQueue, infoField, memoryUsageOf, queueKeyPattern, scanKeys } from './lib/redis-inspect.js';
import { HEAP_SPACES, printReport, type HeapSpace, type FanoutPhase, type JoinPhase, type Results, type ServerMemory, type StoreFigures } from './lib/realtime-report.js';
import { startServer, type ServerProcess } from './lib/server-process.js';
import { writeSigningKey } from './lib/signing-key.js';
import { round, summarize, type LatencySummary } from './lib/stats.js';
import { keyKind } from './lib/store-memory.js';
import { createQueue, patchQueue } from './lib/waiting-room-api.js';

const POSITION_TICK_MS = 1_000;
const SESSION_SECONDS = 600;
const BUCKET_MS = 100;
/** From activating the queue to the fan-out window: the activation burst is over by then. */
const WARMUP_MS = 1_500;

const { values: flags } = parseArgs({
  options: {
    sockets: { type: 'string', default: '5000' },
    servers: { type: 'string' },
    generators: { type: 'string' },
    'source-addresses': { type: 'string' },
    concurrency: { type: 'string', default: '200' },
    'connect-rate': { type: 'string' },
    'admission-rate': { type: 'string' },
    window: { type: 'string', default: '5' },
    'join-timeout': { type: 'string' },
    'jwt-alg': { type: 'string', default: 'RS256' },
    'redis-url': { type: 'string' },
    'nats-url': { type: 'string' },
    'no-nats': { type: 'boolean', default: false },
    'no-baseline': { type: 'boolean', default: false },
    'no-flood': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'server-env': { type: 'string', multiple: true },
    allocator: { type: 'string' },
  },
});
const sockets = positiveInt('sockets', flags.sockets) ?? 5_000;
const serverCount = positiveInt('servers', flags.servers) ?? unitsFor(sockets, SOCKETS_PER_PROCESS);
const generatorCount = positiveInt('generators', flags.generators) ?? unitsFor(sockets, SOCKETS_PER_PROCESS);
const addressCount = nonNegativeInt('source-addresses', flags['source-addresses']) ?? sourceAddressesFor(sockets, serverCount);
const concurrency = positiveInt('concurrency', flags.concurrency) ?? 200;
const connectRate = positiveInt('connect-rate', flags['connect-rate']) ?? 0;
const windowSeconds = positiveInt('window', flags.window) ?? 5;
/**
 * Fast enough that every position falls on every tick, slow enough that about a quarter of the
 * queue is admitted by the end of the window (the bucket's two seconds' worth at activation, the
 * warm-up and the window): the waiting crowd the fan-out is measured on stays large.
 */
const admissionRate =
  positiveInt('admission-rate', flags['admission-rate']) ??
  Math.min(60_000, Math.max(600, Math.round((sockets * 0.25 * 60) / (windowSeconds + 2 + WARMUP_MS / 1000 + 0.5))));
const joinTimeoutS = positiveInt('join-timeout', flags['join-timeout']) ?? Math.max(60, Math.ceil(sockets / 500));
const jwtAlg = flags['jwt-alg'] as SigningAlgorithm;
if (!SIGNING_ALGORITHMS.includes(jwtAlg)) throw new Error(`--jwt-alg must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
const redisUrl = flags['redis-url'] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const natsUrl = flags['no-nats'] ? undefined : (flags['nats-url'] ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
const cpuProfDir = flags['cpu-prof'];
/** `--server-env NAME=VALUE` (repeatable): extra settings for every server process, for experiments. */
const extraServerEnv = Object.fromEntries(
  (flags['server-env'] ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--server-env takes NAME=VALUE, got "${pair}"`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  }),
);

const malloc = allocatorSetup(flags.allocator);

const queueId = `rt-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const stream = benchStream(queueId);
const adminKey = randomBytes(24).toString('base64url');
/** Paused while joining (nobody admitted), a long heartbeat timeout (nobody expires). */
const benchQueue: Partial<QueueSettings> = {
  status: 'paused',
  max_queue_size: 100_000_000,
  max_active_users: 10_000_000,
  admission_rate_per_minute: admissionRate,
  session_duration_seconds: SESSION_SECONDS,
  heartbeat_interval_seconds: 30,
  heartbeat_timeout_seconds: 86_400,
};
const counts = splitEvenly(sockets, generatorCount);
const localAddresses = loopbackAddresses(addressCount);

const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
let servers: ServerProcess[] = [];
let generators: GeneratorPool | undefined;
let adminPool: Pool | undefined;
let tmpDir: string | undefined;

let cleaning: Promise<void> | undefined;
/** Idempotent: generators, servers (before deleting keys: their sweepers write), keys, stream, key file. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await adminPool?.close().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop(20_000).catch(() => null)));
    await generators?.stop().catch(() => undefined);
    await deleteQueue(redis, queueId).catch((e: unknown) => console.error(`! deleting the queue's keys failed: ${String(e)}`));
    if (natsUrl) {
      await deleteStream(natsUrl, stream.name).catch((e: unknown) => console.error(`! deleting stream ${stream.name} failed: ${String(e)}`));
    }
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
    await redis.quit().catch(() => undefined);
  })();
  return cleaning;
}
cleanUpOnSignals(cleanup);

async function startFleet(): Promise<ServerProcess[]> {
  tmpDir = await mkdtemp(join(tmpdir(), 'wr-bench-rt-'));
  const keyFile = await writeSigningKey(tmpDir, jwtAlg);
  const env: Record<string, string> = {
    DRAGONFLYDB_URL: redisUrl,
    ...(natsUrl ? { NATS_URL: natsUrl, NATS_STREAM: stream.name, NATS_SUBJECT_PREFIX: stream.subjectPrefix } : {}),
    ADMIN_API_KEY: adminKey,
    TICKET_SECRET: randomBytes(32).toString('base64url'),
    IP_SALT: randomBytes(12).toString('base64url'),
    JWT_PRIVATE_KEY_FILE: keyFile,
    JWT_ALG: jwtAlg,
    WS_MAX_SOCKETS_PER_IP: '10000000',
    ENQUEUE_RATE_LIMIT_PER_MINUTE: '0',
    MAX_POSITIONS_PER_IP: '0',
    STATUS_RATE_LIMIT_PER_MINUTE: '0',
    POSITION_TICK_MS: String(POSITION_TICK_MS),
    SHUTDOWN_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'warn',
    ...malloc.env,
    ...extraServerEnv,
  };
  const nodeArgs = [INSPECT_ARG, ...profileArgs('server')];
  const started = await Promise.allSettled(
    Array.from({ length: serverCount }, (_, i) =>
      startServer({ env, nodeArgs, readyTimeoutMs: 60_000, onOutput: (line) => process.stderr.write(`[server ${i}] ${line}\n`) }),
    ),
  );
  const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  servers = up;
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return up;
}

/** `--cpu-prof DIR`: every server and generator process writes a V8 CPU profile there on exit. */
function profileArgs(kind: 'server' | 'generator'): string[] {
  return cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, kind)}`] : [];
}

const rssOf = async (pids: readonly number[]) => (await Promise.all(pids.map((pid) => processRssBytes(pid)))).reduce((a, b) => a + b, 0);

/** Every server's memory after a full garbage collection in each. */
async function collectedServerMemory(fleet: readonly ServerProcess[]): Promise<ServerMemory> {
  await Promise.all(
    fleet.map((s) => {
      if (!s.inspectorUrl) throw new Error(`server ${s.pid} has no inspector to collect garbage through`);
      return collectGarbage(s.inspectorUrl);
    }),
  );
  // glibc returns freed pages when the server trims it, 200 ms after a major collection
  // (MALLOC_TRIM, on a worker thread): read 600 ms on, before the servers' young generation has
  // filled up again (the RSS creeps back by megabytes within seconds of a collection). jemalloc
  // returns freed pages over its decay time (10 s by default), so its readings wait until the RSS
  // settles: four readings 2 s apart within 0.5 % of each other (at most 60 s; this leaves the
  // servers colder before the join storm than a glibc run).
  const pids = fleet.map((s) => s.pid);
  if (malloc.allocator === 'glibc') {
    await sleep(600);
    return serverMemory(pids);
  }
  const readings = [await serverMemory(pids)];
  for (let waited = 0; waited < 60_000; waited += 2_000) {
    await sleep(2_000);
    readings.push(await serverMemory(pids));
    const last = readings.slice(-4).map((r) => r.rss);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) <= Math.min(...last) * 0.005) break;
  }
  return readings[readings.length - 1] as ServerMemory;
}

async function serverMemory(pids: readonly number[]): Promise<ServerMemory> {
  // The kernel's figures first, then one scrape per server: a scrape allocates in the server.
  const [rss, mappingsByServer] = await Promise.all([rssOf(pids), Promise.all(pids.map((pid) => processRssByMapping(pid)))]);
  const texts = await scrapeServers();
  const metric = (name: string, labels: Record<string, string> = {}) => sumOverServers(texts, name, labels);
  const spaces = Object.fromEntries(
    HEAP_SPACES.map((space) => [space, metric('nodejs_heap_space_size_total_bytes', { space: space.replace(/_space$/, '') })]),
  ) as Record<HeapSpace, number>;
  return {
    rss,
    heapUsed: metric('nodejs_heap_size_used_bytes'),
    heapTotal: metric('nodejs_heap_size_total_bytes'),
    external: metric('nodejs_external_memory_bytes'),
    spaces,
    mappings: sumRssByMapping(mappingsByServer),
  };
}

/** Sum over every server of one metric (Prometheus text of GET /metrics). */
async function serverMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOverServers(await scrapeServers(), name, labels);
}

const scrapeServers = () => Promise.all(servers.map((s) => scrapeMetrics(s.origin)));
const sumOverServers = (texts: readonly string[], name: string, labels: Record<string, string> = {}) =>
  texts.reduce((sum, text) => sum + sumSamples(text, name, labels), 0);

async function storeFigures(joined: number): Promise<StoreFigures> {
  const waiting = await redis.zcard(queueKeys(queueId).wait);
  const keys = await scanKeys(redis, queueKeyPattern(queueId));
  const sizes = await memoryUsageOf(redis, keys);
  let total = 0;
  const byKind: Record<string, number> = {};
  for (const [key, bytes] of sizes) {
    total += bytes;
    byKind[keyKind(key)] = (byKind[keyKind(key)] ?? 0) + bytes / joined;
  }
  return { waiting, keys: keys.length, bytesPerVisitor: total / joined, byKind };
}

/**
 * Admission → `admitted` arrival of every admission the store made in [fromMs, toMs) (all of them
 * without a range). Admissions whose push never arrived are not in the reports: see `admitted`
 * vs the store's count.
 */
function admitToClient(reports: readonly SwarmReport[], fromMs = -Infinity, toMs = Infinity): LatencySummary {
  const latencies: number[] = [];
  for (const r of reports) {
    const { arrivedAt, sessionExpiresAt } = r.admissions;
    for (let i = 0; i < arrivedAt.length; i++) {
      const admittedAt = storeAdmissionTimeMs(sessionExpiresAt[i] as number, SESSION_SECONDS);
      if (admittedAt >= fromMs && admittedAt < toMs) latencies.push((arrivedAt[i] as number) - admittedAt);
    }
  }
  return summarize(latencies.filter((l) => Number.isFinite(l)));
}

async function run(): Promise<Results> {
  const redisVersion = await infoField(redis, 'server', 'redis_version');
  const fleet = await startFleet();
  const serverPids = fleet.map((s) => s.pid);
  // Admin calls are minutes apart: keep no connection idle longer than the server does (uWS
  // closes idle HTTP connections after ~10 s; reusing one it is closing fails with ECONNRESET).
  adminPool = new Pool(fleet[0]?.origin ?? '', { connections: 1, keepAliveTimeout: 2_000, keepAliveMaxTimeout: 2_000 });
  await createQueue(adminPool, adminKey, queueId, benchQueue);
  generators = await startGenerators(generatorCount, { nodeArgs: profileArgs('generator') });
  const natsPid = natsUrl ? await pidListeningOn(Number(new URL(natsUrl).port || 4222)) : undefined;
  const parties = { servers: serverPids, generators: generators.pids, nats: natsPid };
  console.log(
    `${sockets} sockets: ${serverCount} server process(es) [${fleet.map((s) => s.port).join(', ')}], ` +
      `${generatorCount} generator process(es) [${counts.join(', ')}], ` +
      (localAddresses.length > 0 ? `bound source addresses ${localAddresses[0]}…${localAddresses.at(-1)}` : 'source chosen by the kernel'),
  );
  console.log(
    `queue ${queueId}; Redis ${redisVersion} at ${redisUrl}; ` +
      `events: ${natsUrl ? `JetStream ${stream.name} at ${natsUrl}` : 'in-process (no NATS_URL)'}; JWT ${jwtAlg}`,
  );
  await sleep(1_000);
  const memoryBefore = await collectedServerMemory(fleet);

  const joinTimeoutMs = joinTimeoutS * 1000;
  const timeline: TimelineSpec = { epochMs: nowMs(), bucketMs: BUCKET_MS, buckets: Math.ceil((joinTimeoutMs + 600_000) / BUCKET_MS) };
  console.log(`· joining ${sockets} sockets (≤ ${concurrency} in flight per generator${connectRate ? `, ${connectRate}/s` : ''})`);
  const { result: summaries, cpu: joinCpu } = await withCpuShares(parties, redis, () =>
    (generators as GeneratorPool).open(
      swarmPlans(
        {
          urls: fleet.map((s) => `ws://127.0.0.1:${s.port}/ws/queues/${queueId}`),
          localAddresses,
          concurrency,
          ratePerSecond: connectRate / generatorCount,
          join: true,
          openTimeoutMs: joinTimeoutMs,
          handshakeTimeoutMs: 30_000,
          timeline,
        },
        counts,
      ),
    ),
  );
  const joined = summaries.reduce((n, s) => n + s.ready, 0);
  const firstConnect = Math.min(...summaries.map((s) => s.firstConnectAt));
  const lastJoined = Math.max(...summaries.filter((s) => s.ready > 0).map((s) => s.lastReadyAt));
  const joinFailed = summaries.reduce((n, s) => n + s.failed + s.unstarted + s.admittedAtJoin, 0);
  if (joined < sockets) console.error(`! only ${joined} of ${sockets} sockets joined`);
  await sleep(2_000);
  const memoryAfter = await serverMemory(serverPids);
  // What holding the sockets costs, without the join storm's garbage.
  const memorySettled = await collectedServerMemory(fleet);
  const socketsOnServers = await serverMetric('waiting_room_websocket_connections');
  const afterJoin = await (generators as GeneratorPool).report();
  const join: JoinPhase = {
    summaries,
    joined,
    failed: joinFailed,
    perS: (joined * 1000) / (lastJoined - firstConnect),
    latency: summarize(concatFloat(afterJoin.map((r) => r.readyLatenciesMs))),
    cpu: joinCpu,
    updatesDuring: countBetween(mergeTimelines(afterJoin.map((r) => r.timelines.updates)), firstConnect, lastJoined),
  };
  console.log(`  ${joined} joined in ${round((lastJoined - firstConnect) / 1000, 2)} s; ${socketsOnServers} sockets open on the servers`);
  const store = await storeFigures(joined);

  console.log(`· fan-out: queue active at ${admissionRate}/min, ${windowSeconds} s window after ${WARMUP_MS / 1000} s`);
  await patchQueue(adminPool, adminKey, queueId, { status: 'active' });
  await sleep(WARMUP_MS);
  const window = await measureWindow(timeline, windowSeconds, parties, redis, () =>
    serverMetric('waiting_room_websocket_messages_total', { direction: 'out', type: 'position_update' }),
  );
  await patchQueue(adminPool, adminKey, queueId, { status: 'paused' });
  await sleep(3_000); // admitted pushes still on their way
  const reports = await generators.report();
  const fanout: FanoutPhase = {
    window,
    deliveries: deliveriesIn(reports, window),
    serverMetricPerS: window.probeDelta / window.probeSeconds,
    admittedInWindowPerS: countBetween(mergeTimelines(reports.map((r) => r.timelines.admitted)), window.fromMs, window.toMs) / windowSeconds,
    admitToClient: admitToClient(reports, window.fromMs, window.toMs),
    admitToClientAll: admitToClient(reports),
    storeAdmitted: Number(await redis.hget(queueKeys(queueId).stats, 'admitted')),
  };

  // Servers first: their drain closes every socket, so TIME_WAIT stays on the servers' side.
  await Promise.all(servers.map((s) => s.stop(20_000)));
  await generators.closeSockets(10_000);
  let baseline: BareBaselineResult | undefined;
  let baselineError: string | undefined;
  if (!flags['no-baseline']) {
    console.log(`· baseline: bare uWS publish to ${sockets} sockets (${serverCount} process(es)), every ${POSITION_TICK_MS} ms${flags['no-flood'] ? '' : ', then flat out'}`);
    // The waiting-room figures are in hand: a failing baseline is reported, not fatal.
    baseline = await runBareBaseline({
      generators,
      redis,
      natsPid,
      servers: serverCount,
      counts,
      localAddresses,
      concurrency,
      openTimeoutMs: joinTimeoutMs,
      tickMs: POSITION_TICK_MS,
      windowSeconds,
      flood: !flags['no-flood'],
      serverEnv: malloc.env,
      timeline: { epochMs: nowMs(), bucketMs: BUCKET_MS, buckets: Math.ceil((joinTimeoutMs + 120_000) / BUCKET_MS) },
    }).catch((err: unknown) => {
      baselineError = err instanceof Error ? err.message : String(err);
      console.error(`! the bare baseline failed: ${baselineError}`);
      return undefined;
    });
  }
  return {
    redisVersion,
    join,
    socketsOnServers,
    memoryPerSocket: growthPerSocket(memoryBefore, memorySettled, joined),
    memoryPerSocketAfterJoins: growthPerSocket(memoryBefore, memoryAfter, joined),
    store,
    fanout,
    reports,
    baseline,
    baselineError,
  };
}

function growthPerSocket(before: ServerMemory, after: ServerMemory, sockets: number): ServerMemory {
  return {
    rss: (after.rss - before.rss) / sockets,
    heapUsed: (after.heapUsed - before.heapUsed) / sockets,
    heapTotal: (after.heapTotal - before.heapTotal) / sockets,
    external: (after.external - before.external) / sockets,
    spaces: Object.fromEntries(HEAP_SPACES.map((space) => [space, (after.spaces[space] - before.spaces[space]) / sockets])) as Record<HeapSpace, number>,
    mappings: {
      brk: (after.mappings.brk - before.mappings.brk) / sockets,
      anonymous: (after.mappings.anonymous - before.mappings.anonymous) / sockets,
      other: (after.mappings.other - before.mappings.other) / sockets,
    },
  };
}

function concatFloat(arrays: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

try {
  const results = await run();
  await cleanup();
  printReport(results, {
    sockets,
    servers: serverCount,
    generators: generatorCount,
    sourceAddresses: addressCount,
    windowSeconds,
    admissionRate,
    jwtAlg,
    serverEnv: extraServerEnv,
    allocator: malloc.allocator,
    events: natsUrl ? 'nats' : 'in-process',
  });
  const failed = results.join.joined < sockets || sumOf(results.reports, (x) => x.positionRises) > 0 || results.baselineError !== undefined;
  if (failed) process.exitCode = 1;
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
  await cleanup().catch((e: unknown) => console.error(`cleanup failed: ${String(e)}`));
}
