import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './observability/logger.js';
import { startNode } from './app.js';
import { superviseWorkers } from './supervisor.js';

/**
 * `npm start`: one node, embedded unless DRAGONFLYDB_URL is set (WORKERS=N: N nodes on one port).
 * Stops cleanly on SIGTERM/SIGINT.
 */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Invalid configuration — ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && config.workerId === undefined) return superviseWorkers(config.workers, logger);
  const node = await startNode({ config, logger: config.workerId === undefined ? logger : logger.child({ worker: config.workerId }) });
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    node.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
