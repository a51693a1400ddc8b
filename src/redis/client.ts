import { Redis } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../ops/logger';

/**
 * One shared connection. No offline queue: while Redis is down a command fails at once instead of
 * waiting in memory, so callers can fall back (the limiter's insurance) and nothing hangs.
 * Auto-pipelining: the commands of every request in one event-loop turn (limits, latest scores)
 * leave in one write and come back in one read, instead of a syscall pair each.
 */
export function connectRedis(url: string, logger: Logger, tls: ConnectionOptions | undefined): Redis {
  const redis = new Redis(url, {
    // rediss:// turns TLS on by itself; these add the CA to verify the server with (redisTls(config))
    tls,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    lazyConnect: false,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  let down = false;
  redis.on('error', (error) => {
    redactCredentials(error);
    if (!down) logger.warn({ err: error }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis connection restored');
    down = false;
  });
  return redis;
}

/**
 * ioredis attaches the failed command to its error, and for a refused login that is `HELLO 3
 * AUTH user password` or `AUTH ...`: the password would reach the logs (and a start error's cause).
 * Registered first, so every later listener sees the redacted error.
 */
function redactCredentials(error: Error): void {
  const command = (error as { command?: { name?: string; args?: unknown[] } }).command;
  if (command && /^(auth|hello)$/i.test(command.name ?? '')) command.args = ['[redacted]'];
}
