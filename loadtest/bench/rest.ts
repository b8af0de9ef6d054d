/**
 * REST benchmark: `npm run bench:rest [-- --concurrency 64 --duration 10 --visitors 100000]`
 * (`--requests N` instead of `--duration S` for a fixed count per phase; `--warmup N`;
 * `--redis-url`, default $REDIS_URL or redis://127.0.0.1:6379).
 *
 * Starts the server as its own process against the real Redis, then measures
 *   1. the raw limit: EVALSHA of a one-command script, and the store's own enqueue script,
 *      straight against Redis at the same concurrency;
 *   2. POST …/enqueue per second, then GET …/status per second, with p50/p99 latency;
 *   3. store memory per waiting visitor after enqueuing --visitors through the REST API.
 * Every queue is created paused, so nobody is admitted while measuring. Prints a table, then one
 * JSON object as the last line of stdout.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Pool } from 'undici';
import type { QueueSettings } from '../../server/src/domain/queue.js';
import { describeLimit, loadLimit, positiveInt } from './lib/cli.js';
import type { ClosedLoopResult, LoadLimit } from './lib/closed-loop.js';
import { withCpuShares, type CpuShares } from './lib/cpu.js';
import { HTTP_CLIENT, createPool, runHttpLoad } from './lib/http-load.js';
import { benchStoreEnqueue, benchTrivialEvalsha } from './lib/redis-baseline.js';
import { deleteQueue, infoField } from './lib/redis-inspect.js';
import { formatTable, type Cell } from './lib/report.js';
import { startServer, type ServerProcess } from './lib/server-process.js';
import { perSecond, round, summarize } from './lib/stats.js';
import { measureStoreMemory, type StoreMemory } from './lib/store-memory.js';
import { JSON_HEADERS, createQueue, enqueuePath, statusPath, ticketOf } from './lib/waiting-room-api.js';

const TARGET_BYTES_PER_VISITOR = 200;

const { values: flags } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    requests: { type: 'string' },
    warmup: { type: 'string', default: '2000' },
    visitors: { type: 'string', default: '100000' },
    'redis-url': { type: 'string' },
  },
});
const concurrency = positiveInt('concurrency', flags.concurrency) ?? 64;
const limit = loadLimit(positiveInt('requests', flags.requests), positiveInt('duration', flags.duration) ?? 10);
const warmup = { requests: positiveInt('warmup', flags.warmup) ?? 2000 };
const visitors = positiveInt('visitors', flags.visitors) ?? 100_000;
const redisUrl = flags['redis-url'] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const runId = `bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const queues = { http: `${runId}-http`, store: `${runId}-store`, memory: `${runId}-mem` };
const adminKey = randomBytes(24).toString('base64url');
/** Paused: nobody is admitted. A long heartbeat timeout: nobody expires during the run. */
const benchQueue: Partial<QueueSettings> = {
  status: 'paused',
  max_queue_size: 100_000_000,
  heartbeat_interval_seconds: 30,
  heartbeat_timeout_seconds: 3_600,
};

const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
let server: ServerProcess | undefined;
let httpPool: Pool | undefined;

interface Measured {
  perS: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  cpu: CpuShares;
}

/** Runs one measured phase and reads its throughput, latency and CPU shares. */
async function measure(name: string, run: () => Promise<ClosedLoopResult>): Promise<Measured> {
  const { result: r, cpu } = await withCpuShares({ servers: server ? [server.pid] : [] }, redis, run);
  if (r.failed > 0) console.error(`! ${name}: ${r.failed} failed (first: ${r.firstError ?? 'unknown'})`);
  const s = summarize(r.latenciesMs);
  return { perS: perSecond(r.succeeded, r.elapsedMs), p50: s.p50Ms, p99: s.p99Ms, ok: r.succeeded, failed: r.failed, cpu };
}

let cleaning: Promise<void> | undefined;
/** Idempotent: closes the client, stops the server, deletes every bench queue's keys. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await httpPool?.close().catch(() => undefined);
    // Stop the server first, so its sweeper cannot write a queue's keys back after deletion.
    const code = await server?.stop();
    if (code !== undefined && code !== 0) console.error(`! the server exited with code ${code}`);
    for (const id of Object.values(queues)) await deleteQueue(redis, id);
    await redis.quit();
  })();
  return cleaning;
}
process.once('SIGINT', () => {
  console.error('interrupted: cleaning up');
  void cleanup().finally(() => process.exit(130));
});

interface Results {
  redisVersion: string;
  evalsha: Measured;
  storeEnqueue: Measured;
  enqueue: Measured;
  status: Measured;
  memory: StoreMemory<Measured>;
}

async function run(): Promise<Results> {
  const redisVersion = await infoField(redis, 'server', 'redis_version');
  server = await startServer({
    env: {
      DRAGONFLYDB_URL: redisUrl,
      ADMIN_API_KEY: adminKey,
      TICKET_SECRET: randomBytes(32).toString('base64url'),
      IP_SALT: randomBytes(12).toString('base64url'),
      ENQUEUE_RATE_LIMIT_PER_MINUTE: '0',
      MAX_POSITIONS_PER_IP: '0',
      STATUS_RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    },
  });
  const pool = createPool(server.origin, concurrency);
  httpPool = pool;
  for (const id of Object.values(queues)) await createQueue(pool, adminKey, id, benchQueue);
  console.log(`server pid ${server.pid} at ${server.origin}; Redis ${redisVersion} at ${redisUrl}`);
  console.log(`concurrency ${concurrency}, ${describeLimit(limit)} per phase after ${warmup.requests} warm-up`);
  console.log(`client: ${HTTP_CLIENT}`);

  console.log('· baseline: EVALSHA of a one-command script');
  await benchTrivialEvalsha(redis, queues.store, concurrency, warmup);
  const evalsha = await measure('evalsha', () => benchTrivialEvalsha(redis, queues.store, concurrency, limit));

  console.log('· baseline: the store enqueue script (no HTTP)');
  await benchStoreEnqueue(redis, queues.store, concurrency, warmup);
  const storeEnqueue = await measure('store enqueue', () => benchStoreEnqueue(redis, queues.store, concurrency, limit));

  const tickets: string[] = [];
  const enqueueLoad = (queueId: string, runLimit: LoadLimit, keepTickets: boolean) =>
    runHttpLoad({
      pool,
      concurrency,
      limit: runLimit,
      request: () => ({ method: 'POST', path: enqueuePath(queueId), headers: JSON_HEADERS, body: '{}' }),
      expectStatus: [201],
      ...(keepTickets ? { onBody: (_i: number, body: string) => void tickets.push(ticketOf(body)) } : {}),
    });
  console.log('· REST enqueue');
  await enqueueLoad(queues.http, warmup, true);
  const enqueue = await measure('enqueue', () => enqueueLoad(queues.http, limit, true));

  console.log(`· REST status (round robin over the ${tickets.length} tickets just issued)`);
  const statusLoad = (runLimit: LoadLimit) =>
    runHttpLoad({
      pool,
      concurrency,
      limit: runLimit,
      request: (i) => ({
        method: 'GET',
        path: statusPath(queues.http),
        headers: { authorization: `Bearer ${tickets[i % tickets.length] ?? ''}` },
      }),
      expectStatus: [200],
    });
  await statusLoad(warmup);
  const status = await measure('status', () => statusLoad(limit));

  console.log(`· store memory: ${visitors} visitors through REST enqueue into a fresh queue`);
  const memory = await measureStoreMemory(redis, queues.memory, () =>
    measure('memory fill', () => enqueueLoad(queues.memory, { requests: visitors }, false)),
  );
  if (memory.visitors !== visitors) console.error(`! the queue holds ${memory.visitors} visitors, not ${visitors}`);
  if (memory.foreignKeys !== 0) {
    console.error(`! DBSIZE changed by ${memory.foreignKeys} keys not ours: the used_memory delta is disturbed`);
  }
  return { redisVersion, evalsha, storeEnqueue, enqueue, status, memory };
}

const cpuOf = (m: Measured) => ({
  generator: round(m.cpu.generator, 0),
  server: round(m.cpu.server, 0),
  redis: round(m.cpu.redis, 0),
  others: round(m.cpu.others, 0),
});

function report(r: Results): void {
  const cores = availableParallelism();
  const row = (label: string, m: Measured): Cell[] => {
    const cpu = cpuOf(m);
    return [label, round(m.perS, 0), round(m.p50, 2), round(m.p99, 2), m.ok, m.failed, cpu.generator, cpu.server, cpu.redis, cpu.others];
  };
  console.log('');
  console.log(
    formatTable(
      ['operation', 'per s', 'p50 ms', 'p99 ms', 'ok', 'failed', 'gen CPU%', 'server CPU%', 'redis CPU%', 'other CPU%'],
      [
        row('EVALSHA one-command script (Redis, no HTTP)', r.evalsha),
        row('store enqueue script (Redis, no HTTP)', r.storeEnqueue),
        row('POST /enqueue', r.enqueue),
        row('GET /status', r.status),
        row(`POST /enqueue (memory fill, ${visitors})`, r.memory.fill),
      ],
    ),
  );
  console.log(`(CPU% = share of one core during the phase; ${cores} cores = ${cores * 100}%)`);
  const verdict = (bytes: number) => (bytes <= TARGET_BYTES_PER_VISITOR ? 'met' : 'MISSED');
  const { usedMemoryBytesPerVisitor: used, memoryUsageBytesPerVisitor: keyBytes } = r.memory;
  const byKind = Object.fromEntries(
    Object.entries(r.memory.memoryUsageBytesPerVisitorByKind)
      .sort(([, a], [, b]) => b - a)
      .map(([kind, bytes]) => [kind, round(bytes, 2)]),
  );
  console.log('');
  console.log(
    formatTable(
      [`store memory per waiting visitor (${r.memory.visitors})`, 'bytes', `target ≤ ${TARGET_BYTES_PER_VISITOR}`],
      [
        ['INFO used_memory delta', round(used, 1), r.memory.foreignKeys === 0 ? verdict(used) : 'DISTURBED (see above)'],
        [`sum of MEMORY USAGE over ${r.memory.keys} keys`, round(keyBytes, 1), verdict(keyBytes)],
      ],
    ),
  );
  console.log(`  of which, by key: ${Object.entries(byKind).map(([k, b]) => `${k} ${b}`).join(', ')}`);
  console.log('');
  console.log(
    JSON.stringify({
      enqueue_per_s: round(r.enqueue.perS, 0),
      enqueue_p50_ms: round(r.enqueue.p50, 3),
      enqueue_p99_ms: round(r.enqueue.p99, 3),
      enqueue_requests: r.enqueue.ok,
      enqueue_failed: r.enqueue.failed,
      status_per_s: round(r.status.perS, 0),
      status_p50_ms: round(r.status.p50, 3),
      status_p99_ms: round(r.status.p99, 3),
      status_requests: r.status.ok,
      status_failed: r.status.failed,
      evalsha_baseline_per_s: round(r.evalsha.perS, 0),
      evalsha_p50_ms: round(r.evalsha.p50, 3),
      evalsha_p99_ms: round(r.evalsha.p99, 3),
      store_enqueue_script_per_s: round(r.storeEnqueue.perS, 0),
      store_enqueue_script_p50_ms: round(r.storeEnqueue.p50, 3),
      store_enqueue_script_p99_ms: round(r.storeEnqueue.p99, 3),
      store_bytes_per_visitor: round(used, 1),
      store_memory_usage_bytes_per_visitor: round(keyBytes, 1),
      store_memory_usage_bytes_per_visitor_by_key: byKind,
      store_bytes_target: TARGET_BYTES_PER_VISITOR,
      store_used_memory_foreign_keys: r.memory.foreignKeys,
      memory_fill_enqueue_per_s: round(r.memory.fill.perS, 0),
      cpu_percent_of_one_core: {
        evalsha: cpuOf(r.evalsha),
        store_enqueue_script: cpuOf(r.storeEnqueue),
        enqueue: cpuOf(r.enqueue),
        status: cpuOf(r.status),
        memory_fill: cpuOf(r.memory.fill),
      },
      visitors: r.memory.visitors,
      concurrency,
      phase: describeLimit(limit),
      client: HTTP_CLIENT,
      node: process.version,
      redis: r.redisVersion,
      cpus: cores,
    }),
  );
}

try {
  const results = await run();
  await cleanup();
  report(results);
  const failed = [results.evalsha, results.storeEnqueue, results.enqueue, results.status, results.memory.fill].some(
    (m) => m.failed > 0,
  );
  if (failed || results.memory.visitors !== visitors) process.exitCode = 1;
} catch (err) {
  console.error(`bench:rest failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
  await cleanup().catch((e: unknown) => console.error(`cleanup failed: ${String(e)}`));
}
