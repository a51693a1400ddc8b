import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema';

export type { Logger };

/** JSON lines for machines; pretty output when a person is watching a terminal. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY'>): Logger {
  const pretty = config.LOG_PRETTY ?? Boolean(process.stdout.isTTY);
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'tollgraph' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Secrets must never reach the logs, whatever a caller passes in.
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["stripe-signature"]', '*.secret', '*.key'],
      censor: '[redacted]',
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } } : {}),
  });
}
