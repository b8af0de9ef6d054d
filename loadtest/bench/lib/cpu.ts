/**
 * CPU time of the three parties during a phase — the load generator (this process), the server
 * process and Redis — as a percentage of one core. On a small machine they share the cores, and
 * these figures show which one a throughput number is bound by.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { infoField } from './redis-inspect.js';

/** /proc reports times in USER_HZ ticks, which Linux fixes at 100 for user space. */
const USER_HZ = 100;

/** user + system CPU seconds of a process from /proc/<pid>/stat; NaN where there is no /proc. */
async function processCpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine (all cores) from /proc/stat; NaN where there is none. */
async function machineBusySeconds(): Promise<number> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (ticks.reduce((a, b) => a + b, 0) - idle) / USER_HZ;
  } catch {
    return NaN;
  }
}

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
  /** Everything else on the machine (other processes, the kernel outside these three). */
  others: number;
}

interface Snapshot {
  wall: number;
  generator: number;
  server: number;
  redis: number;
  machine: number;
}

async function snapshot(serverPid: number | undefined, redis: Redis): Promise<Snapshot> {
  const own = process.cpuUsage();
  return {
    wall: performance.now() / 1000,
    generator: (own.user + own.system) / 1e6,
    server: serverPid === undefined ? NaN : await processCpuSeconds(serverPid),
    redis: await redisCpuSeconds(redis),
    machine: await machineBusySeconds(),
  };
}

/** Measures `run` and the CPU each party spent while it ran. */
export async function withCpuShares<T>(
  serverPid: number | undefined,
  redis: Redis,
  run: () => Promise<T>,
): Promise<{ result: T; cpu: CpuShares }> {
  const before = await snapshot(serverPid, redis);
  const result = await run();
  const after = await snapshot(serverPid, redis);
  const wall = after.wall - before.wall;
  const pct = (k: keyof Omit<Snapshot, 'wall'>) => (100 * (after[k] - before[k])) / wall;
  const cpu = { generator: pct('generator'), server: pct('server'), redis: pct('redis') };
  const others = Math.max(0, pct('machine') - cpu.generator - cpu.server - cpu.redis);
  return { result, cpu: { ...cpu, others } };
}
