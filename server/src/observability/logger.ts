import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs. Secrets and raw addresses never reach them: tokens, keys and IPs are redacted by
 * path, and request logs carry only the salted IP hash.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'waiting-room' },
      redact: {
        paths: [
          'token',
          'session_token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers["x-admin-key"]',
          'adminKey',
          'secret',
          '*.secret',
          'ip',
          '*.ip',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
