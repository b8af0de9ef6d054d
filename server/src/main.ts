import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './observability/logger.js';
import { startNode } from './app.js';
import { startMallocTrim } from './native-memory.js';
import { superviseWorkers } from './supervisor.js';

/**
 * `npm start`: one node, embedded unless DRAGONFLYDB_URL is set (WORKERS=N: N nodes on one port).
 * Stops cleanly on SIGTERM/SIGINT.
 */
async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && config.workerId === undefined) return superviseWorkers(config.workers, logger);
  if (config.mallocTrim) startMallocTrim({ log: logger });
  const node = await startNode({ config, logger: config.workerId === undefined ? logger : logger.child({ worker: config.workerId }) });
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal (the supervisor forwards the one its group already got) must not cut the drain short.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    node.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`Invalid configuration — ${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
