/**
 * `npm run case-study`: the seed's "Concert Ticket Launch" replayed against the real server —
 * several server processes sharing Redis (database 15, flushed at start) and NATS JetStream (a
 * stream of the run's own) — with 100,000 visitors arriving in 5 minutes, capacity 50,000,
 * 500 admissions/minute, 10-minute sessions, a 60 s heartbeat timeout, and visitors dropping off.
 * `--time-scale k` and `--scale s` shrink it (scaling.ts says exactly how); every figure is
 * reported mapped back to the full-size case. Prints a table and, as the last line of stdout,
 * one JSON object; writes the plot to docs/case-study.svg.
 */
import { cleanUpOnSignals } from '../bench/lib/proc.js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Pool, request } from 'undici';
import { benchStream, deleteStream } from '../bench/lib/nats-stream.js';
import { formatTable } from '../bench/lib/report.js';
import { REPO_ROOT, startServer, type ServerProcess } from '../bench/lib/server-process.js';
import { writeSigningKey } from '../bench/lib/signing-key.js';
import { createQueue } from '../bench/lib/waiting-room-api.js';
import { nowMs } from '../lib/ws-visitor.js';
import { startCrowd, type Crowd } from './crowd.js';
import { admissionsPerRealMinute, caseStudyFigures, chartPanels, resultRows, type HealthCount } from './report.js';
import { REAL_CASE, scaleCase, serverTimers, wallMs, type Scale } from './scaling.js';
import { seededRandom, type QueueSample } from './stats.js';
import { buildSvg } from './svg.js';

const { values: flags } = parseArgs({
  options: {
    'time-scale': { type: 'string', default: '30' },
    scale: { type: 'string', default: '0.1' },
    servers: { type: 'string', default: '2' },
    abandon: { type: 'string', default: '0.1' },
    return: { type: 'string', default: '0.05' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '200' },
    'max-real-minutes': { type: 'string', default: '180' },
    'redis-url': { type: 'string' },
    'redis-db': { type: 'string', default: '15' },
    'nats-url': { type: 'string' },
    svg: { type: 'string', default: 'docs/case-study.svg' },
    'visitors-csv': { type: 'string' },
  },
  strict: true,
});

function num(flag: string, text: string | undefined, ok: (n: number) => boolean, rule: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || !ok(n)) throw new Error(`--${flag} must be ${rule}, got "${text}"`);
  return n;
}

const scale: Scale = {
  time: num('time-scale', flags['time-scale'], (n) => n >= 1, '≥ 1'),
  sockets: num('scale', flags.scale, (n) => n > 0 && n <= 1, 'in (0, 1]'),
};
const scaled = scaleCase(scale);
const serverCount = num('servers', flags.servers, (n) => Number.isInteger(n) && n >= 1 && n <= 8, 'an integer 1–8');
const abandonShare = num('abandon', flags.abandon, (n) => n >= 0 && n <= 1, 'a share in [0, 1]');
const returnShare = num('return', flags.return, (n) => n >= 0 && n + abandonShare <= 1, 'a share with --abandon + --return ≤ 1');
const seed = num('seed', flags.seed, Number.isInteger, 'an integer');
const concurrency = num('concurrency', flags.concurrency, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
const maxRealMinutes = num('max-real-minutes', flags['max-real-minutes'], (n) => n > 0, '> 0');
const redisDb = num('redis-db', flags['redis-db'], (n) => Number.isInteger(n) && n >= 0 && n <= 15, 'a database number 0–15');
const redisBase = (flags['redis-url'] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');
const redisUrl = `${redisBase}/${redisDb}`;
const natsUrl = flags['nats-url'] ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const svgPath = resolve(REPO_ROOT, flags.svg);

const queueId = 'concert-tickets';
const runId = `case${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const stream = benchStream(runId);
const adminKey = randomBytes(24).toString('base64url');
/** One sample every 15 real seconds (500 ms of wall time at k = 30), at least every 200 ms. */
const sampleWallMs = Math.max(200, wallMs(15, scale));
const timers = serverTimers(scale);

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
let servers: ServerProcess[] = [];
let crowd: Crowd | undefined;
let adminPool: Pool | undefined;
let tmpDir: string | undefined;
const loops: NodeJS.Timeout[] = [];

let cleaning: Promise<void> | undefined;
/** Idempotent: samplers, sockets, servers, the run's stream, the key file. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const l of loops) clearInterval(l);
    await crowd?.close(5_000).catch(() => undefined);
    await adminPool?.close().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop(15_000).catch(() => null)));
    await deleteStream(natsUrl, stream.name).catch((e: unknown) => console.error(`! deleting stream ${stream.name} failed: ${String(e)}`));
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
    await redis.quit().catch(() => undefined);
  })();
  return cleaning;
}
cleanUpOnSignals(cleanup);

async function startFleet(): Promise<ServerProcess[]> {
  tmpDir = await mkdtemp(join(tmpdir(), 'wr-case-study-'));
  const env: Record<string, string> = {
    DRAGONFLYDB_URL: redisUrl,
    NATS_URL: natsUrl,
    NATS_STREAM: stream.name,
    NATS_SUBJECT_PREFIX: stream.subjectPrefix,
    ADMIN_API_KEY: adminKey,
    TICKET_SECRET: randomBytes(32).toString('base64url'),
    IP_SALT: randomBytes(12).toString('base64url'),
    JWT_PRIVATE_KEY_FILE: await writeSigningKey(tmpDir, 'RS256'),
    // Every visitor comes from 127.0.0.1: the per-IP limits would stop the crowd, not the queue.
    WS_MAX_SOCKETS_PER_IP: '10000000',
    ENQUEUE_RATE_LIMIT_PER_MINUTE: '0',
    STATUS_RATE_LIMIT_PER_MINUTE: '0',
    ADMISSION_TICK_MS: String(timers.ADMISSION_TICK_MS),
    SWEEP_INTERVAL_MS: String(timers.SWEEP_INTERVAL_MS),
    POSITION_TICK_MS: String(timers.POSITION_TICK_MS),
    SHUTDOWN_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'warn',
  };
  const started = await Promise.allSettled(
    Array.from({ length: serverCount }, (_, i) =>
      startServer({ env, readyTimeoutMs: 60_000, onOutput: (line) => process.stderr.write(`[server ${i}] ${line}\n`) }),
    ),
  );
  servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return servers;
}

interface StatsBody {
  queue_length: number;
  active_sessions: number;
  totals: { admitted: number; expired: number };
}

async function readStats(pool: Pool): Promise<StatsBody> {
  const res = await pool.request({ method: 'GET', path: `/api/v1/admin/queues/${queueId}/stats`, headers: { 'x-admin-key': adminKey } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`stats: ${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text) as StatsBody;
}

async function main(): Promise<number> {
  console.error(
    `case study: ${scaled.visitors} visitors in ${scaled.arrivalWallSeconds} s (k = ${scale.time}, s = ${scale.sockets}), ` +
      `queue ${JSON.stringify(scaled.queue)}, ${serverCount} servers, Redis ${redisUrl}, JetStream ${stream.name} at ${natsUrl}`,
  );
  await redis.flushdb(); // database 15 is this command's own: nothing else lives there
  const fleet = await startFleet();
  const origin = (fleet[0] as ServerProcess).origin;
  adminPool = new Pool(origin, { connections: 2 });
  await createQueue(adminPool, adminKey, queueId, { ...scaled.queue, status: 'active', name: 'Concert ticket launch (case study)' });

  const epoch = nowMs();
  const maxWallMs = wallMs(maxRealMinutes * 60, scale);
  const samples: QueueSample[] = [];
  const health: HealthCount = { probes: 0, ok: 0 };
  let sampleError: string | undefined;
  loops.push(
    setInterval(() => {
      if (!adminPool) return;
      const at = nowMs() - epoch;
      readStats(adminPool)
        .then((s) => samples.push({ atMs: at, queueLength: s.queue_length, activeSessions: s.active_sessions, admitted: s.totals.admitted, expired: s.totals.expired }))
        .catch((e: unknown) => (sampleError = String(e)));
    }, sampleWallMs),
    setInterval(() => {
      for (const s of fleet) {
        // Counted when answered (or failed), so probes still in flight at the end do not count.
        request(`${s.origin}/health`, { headersTimeout: 2_000, bodyTimeout: 2_000 })
          .then(async (res) => {
            await res.body.dump();
            if (res.statusCode === 200) health.ok++;
          })
          .catch(() => undefined)
          .finally(() => health.probes++);
      }
    }, 1_000),
  );

  crowd = startCrowd({
    urls: fleet.map((s) => `ws://127.0.0.1:${s.port}/ws/queues/${queueId}`),
    visitors: scaled.visitors,
    arrivalWallMs: scaled.arrivalWallSeconds * 1000,
    concurrency,
    abandonShare,
    returnShare,
    graceWallMs: scaled.queue.heartbeat_timeout_seconds * 1000,
    random: seededRandom(seed),
    timeline: { epochMs: epoch, bucketMs: 100, buckets: Math.ceil(maxWallMs / 100) + 600 },
  });
  const opened = await crowd.opened;
  console.error(`arrivals done after ${((nowMs() - epoch) / 1000).toFixed(1)} s: ${opened.ready} joined, ${opened.failed} refused or failed`);

  // Until the queue is empty (everyone admitted, expired or gone) and no drop-off is pending.
  let lastLog = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, sampleWallMs));
    const last = samples[samples.length - 1];
    const elapsed = nowMs() - epoch;
    if (elapsed - lastLog > 10_000 && last) {
      lastLog = elapsed;
      console.error(`  ${(elapsed / 1000).toFixed(0)} s: waiting ${last.queueLength}, active ${last.activeSessions}, admitted ${last.admitted}, expired ${last.expired}`);
    }
    if (last && last.queueLength === 0 && crowd.pending() === 0 && last.atMs > opened.lastReadyAt - epoch) break;
    if (elapsed > maxWallMs) {
      console.error(`! stopped at --max-real-minutes ${maxRealMinutes} with the queue not empty`);
      break;
    }
  }
  await new Promise((r) => setTimeout(r, sampleWallMs * 2)); // one more sample of the empty queue
  const runWallMs = nowMs() - epoch;
  for (const l of loops) clearInterval(l);
  const result = crowd.result();
  if (sampleError) console.error(`! a stats sample failed: ${sampleError}`);

  const figures = caseStudyFigures({ scale, samples, crowd: result, health, runWallMs });
  await writeFile(
    svgPath,
    buildSvg(chartPanels(samples, admissionsPerRealMinute(result.swarm.timelines.admitted, scale, runWallMs), scale), {
      title: `Concert ticket launch replayed (k = ${scale.time}, s = ${scale.sockets}; mapped to the full-size case)`,
      xLabel: 'real-case minutes since the first arrival',
    }),
  );
  if (flags['visitors-csv']) await writeFile(resolve(flags['visitors-csv']), result.rows());
  console.log(
    `\nThe seed's case study replayed: ${scaled.visitors.toLocaleString('en-US')} sockets standing for ${REAL_CASE.visitors.toLocaleString('en-US')} visitors; ` +
      `figures mapped to the full-size case (counts ÷ ${scale.sockets}, times × ${scale.time})\n`,
  );
  console.log(formatTable(['metric', 'seed', 'this run'], resultRows(figures)));
  console.log(`\nplot: ${svgPath}; errors: ${JSON.stringify(result.swarm.errors)}; join failures: ${JSON.stringify(result.joinFailures)}`);
  console.log(JSON.stringify(figures));
  return result.swarm.positionRises > 0 || result.returns.placeWorse > 0 ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
} finally {
  await cleanup();
}
process.exit(code);
