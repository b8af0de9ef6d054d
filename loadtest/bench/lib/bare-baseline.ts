/**
 * The fan-out baseline: the same number of sockets, server processes and generator processes as
 * the waiting-room run, against bare uWS publishers (bare-uws-publish.ts) instead of servers.
 *
 *   tick:  one frame per socket per tick (the server's POSITION_TICK_MS), the cadence at which the
 *          waiting room itself sends position updates — the fair comparison;
 *   flood: frames back to back for the same window — what uWS and the generators can move at all
 *          on this machine (the headroom above one update per tick).
 */
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GeneratorPool } from '../../lib/generators.js';
import type { SwarmReport } from '../../lib/swarm.js';
import type { TimelineSpec } from '../../lib/timeline.js';
import { deliveriesIn, measureWindow, swarmPlans, type Deliveries } from './fanout-window.js';
import type { CpuShares } from './cpu.js';
import { startServer, type ServerProcess } from './server-process.js';

export const BARE_ENTRY = 'loadtest/bench/lib/bare-uws-publish.ts';

export interface BareBaselineOptions {
  generators: GeneratorPool;
  redis: Redis;
  /** Measured too (it should idle: the baseline uses no events). */
  natsPid: number | undefined;
  servers: number;
  counts: readonly number[];
  localAddresses: string[];
  concurrency: number;
  openTimeoutMs: number;
  tickMs: number;
  windowSeconds: number;
  flood: boolean;
  /** Extra environment of the bare servers (the same allocator as the waiting room's). */
  serverEnv?: Record<string, string>;
  timeline: TimelineSpec;
}

export interface BareBaselineResult {
  opened: number;
  failed: number;
  tick: Deliveries & { cpu: CpuShares };
  flood: (Deliveries & { cpu: CpuShares }) | undefined;
  /** RSS growth per open socket, each reading taken after a full garbage collection. */
  rssBytesPerSocket: number;
  reports: SwarmReport[];
}

/** RSS of every bare server after a full garbage collection (they run with --expose-gc). */
async function collectedRss(servers: readonly ServerProcess[]): Promise<number> {
  const stats = await Promise.all(
    servers.map(async (s) => {
      const res = await fetch(`${s.origin}/stats`, { signal: AbortSignal.timeout(10_000) });
      return (await res.json()) as { rss_bytes: number };
    }),
  );
  return stats.reduce((sum, s) => sum + s.rss_bytes, 0);
}

/** Every publisher floods for `ms` from the same instant `atMs` (wall clock). */
async function floodAll(servers: readonly ServerProcess[], atMs: number, ms: number): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      const res = await fetch(`${s.origin}/flood?ms=${ms}&at=${Math.round(atMs)}`, { signal: AbortSignal.timeout(15_000) });
      if (res.status !== 202) throw new Error(`${s.origin}/flood: ${res.status}`);
    }),
  );
}

export async function runBareBaseline(opts: BareBaselineOptions): Promise<BareBaselineResult> {
  const sockets = opts.counts.reduce((a, b) => a + b, 0);
  const servers: ServerProcess[] = [];
  try {
    const started = await Promise.allSettled(
      Array.from({ length: opts.servers }, (_, i) =>
        startServer({
          entry: BARE_ENTRY,
          nodeArgs: ['--expose-gc'],
          env: { ...opts.serverEnv, BARE_TICK_MS: String(opts.tickMs), BARE_FIRST_POSITION: String(sockets) },
          onOutput: (line) => process.stderr.write(`[bare ${i}] ${line}\n`),
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    await sleep(500);
    const rssBefore = await collectedRss(servers);

    const urls = servers.map((s) => `ws://127.0.0.1:${s.port}/ws/queues/bare`);
    const summaries = await opts.generators.open(
      swarmPlans(
        {
          urls,
          localAddresses: opts.localAddresses,
          concurrency: opts.concurrency,
          ratePerSecond: 0,
          join: false,
          openTimeoutMs: opts.openTimeoutMs,
          handshakeTimeoutMs: 30_000,
          timeline: opts.timeline,
        },
        opts.counts,
      ),
    );
    const opened = summaries.reduce((n, s) => n + s.ready, 0);
    const failedToOpen = summaries.reduce((n, s) => n + s.failed + s.unstarted, 0);
    await sleep(1_500);
    const rssAfter = await collectedRss(servers);
    const parties = { servers: servers.map((s) => s.pid), generators: opts.generators.pids, nats: opts.natsPid };

    const tickWindow = await measureWindow(opts.timeline, opts.windowSeconds, parties, opts.redis);
    let floodWindow: Awaited<ReturnType<typeof measureWindow>> | undefined;
    if (opts.flood) {
      // Armed ahead of time, so all publishers start together however slowly each one answers.
      const floodFrom = Date.now() + 2_000;
      const floodMs = (opts.windowSeconds + 3) * 1000;
      await floodAll(servers, floodFrom, floodMs);
      await sleep(Math.max(0, floodFrom + 500 - Date.now()));
      floodWindow = await measureWindow(opts.timeline, opts.windowSeconds, parties, opts.redis);
      await sleep(Math.max(0, floodFrom + floodMs + 500 - Date.now()));
    }
    const reports = await opts.generators.report();
    return {
      opened,
      failed: failedToOpen,
      tick: { ...deliveriesIn(reports, tickWindow), cpu: tickWindow.cpu },
      flood: floodWindow ? { ...deliveriesIn(reports, floodWindow), cpu: floodWindow.cpu } : undefined,
      rssBytesPerSocket: (rssAfter - rssBefore) / opened,
      reports,
    };
  } finally {
    // The servers close first, so the TIME_WAIT of every connection stays on their side and the
    // generators' ephemeral ports are free again at once.
    await Promise.all(servers.map((s) => s.stop(5_000)));
    await opts.generators.closeSockets(10_000);
  }
}
