import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from './observability/logger.js';

/**
 * WORKERS=N: N node processes on one port (the kernel spreads connections with SO_REUSEPORT,
 * which uWS sets), each a full node sharing DragonFly and NATS. One process can open only so
 * many files; more processes also use more cores. A worker that dies is restarted.
 */
export function superviseWorkers(count: number, log: Logger): void {
  const workers = new Map<number, ChildProcess>();
  let stopping = false;
  const restarts: number[] = [];

  const start = (index: number) => {
    const child = fork(process.argv[1] as string, process.argv.slice(2), {
      execArgv: process.execArgv,
      env: { ...process.env, WORKER_ID: String(index) },
    });
    workers.set(index, child);
    child.once('exit', (code, signal) => {
      workers.delete(index);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      log.error({ worker: index, code, signal }, 'worker exited; restarting');
      const now = Date.now();
      restarts.push(now);
      while ((restarts[0] ?? now) < now - 60_000) restarts.shift();
      // A crash loop gets slower restarts, never a hot loop.
      setTimeout(() => start(index), Math.min(30_000, 250 * 2 ** Math.min(restarts.length, 7)));
    });
  };

  for (let i = 0; i < count; i++) start(i);
  log.info({ workers: count, pid: process.pid }, 'supervising workers');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    for (const child of workers.values()) child.kill(signal);
    if (workers.size === 0) process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
