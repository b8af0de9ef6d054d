/**
 * CPU time of the three parties during a phase — the load generator (this process and any
 * generator child processes), the server processes and Redis — as a percentage of one core. On
 * a small machine they share the cores, and these figures show which one a throughput number is
 * bound by.
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { machineBusySeconds, processCpuSeconds } from './proc.js';
import { infoField } from './redis-inspect.js';

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const [user, sys] = await Promise.all([
    infoField(redis, 'cpu', 'used_cpu_user'),
    infoField(redis, 'cpu', 'used_cpu_sys'),
  ]);
  return Number(user) + Number(sys);
}

export interface CpuShares {
  /** Percent of one core; 100 = one core busy for the whole phase. */
  generator: number;
  server: number;
  redis: number;
  /** The NATS server, when its pid is given (NaN otherwise; it is then part of `others`). */
  nats: number;
  /** Everything else on the machine (other processes, the kernel outside the parties above). */
  others: number;
}

interface Snapshot {
  wall: number;
  generator: number;
  server: number;
  redis: number;
  nats: number;
  machine: number;
}

/** The processes whose CPU is measured; this process always counts as a generator. */
export interface CpuParties {
  servers: readonly number[];
  /** Generator child processes (generators.ts), added to this process's own time. */
  generators?: readonly number[];
  /** The NATS server process, if known (proc.ts pidListeningOn). */
  nats?: number | undefined;
}

async function sumCpuSeconds(pids: readonly number[]): Promise<number> {
  const seconds = await Promise.all(pids.map((pid) => processCpuSeconds(pid)));
  return seconds.reduce((a, b) => a + b, 0);
}

async function snapshot(parties: CpuParties, redis: Redis): Promise<Snapshot> {
  const own = process.cpuUsage();
  return {
    wall: performance.now() / 1000,
    generator: (own.user + own.system) / 1e6 + (await sumCpuSeconds(parties.generators ?? [])),
    server: parties.servers.length === 0 ? NaN : await sumCpuSeconds(parties.servers),
    redis: await redisCpuSeconds(redis),
    nats: parties.nats === undefined ? NaN : await processCpuSeconds(parties.nats),
    machine: await machineBusySeconds(),
  };
}

/** Measures `run` and the CPU each party spent while it ran (several servers: their sum). */
export async function withCpuShares<T>(
  parties: CpuParties,
  redis: Redis,
  run: () => Promise<T>,
): Promise<{ result: T; cpu: CpuShares }> {
  const before = await snapshot(parties, redis);
  const result = await run();
  const after = await snapshot(parties, redis);
  const wall = after.wall - before.wall;
  const pct = (k: keyof Omit<Snapshot, 'wall'>) => (100 * (after[k] - before[k])) / wall;
  const cpu = { generator: pct('generator'), server: pct('server'), redis: pct('redis'), nats: pct('nats') };
  const known = cpu.generator + (Number.isNaN(cpu.server) ? 0 : cpu.server) + cpu.redis + (Number.isNaN(cpu.nats) ? 0 : cpu.nats);
  const others = Math.max(0, pct('machine') - known);
  return { result, cpu: { ...cpu, others } };
}
