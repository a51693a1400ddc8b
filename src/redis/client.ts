import { Redis } from 'ioredis';
import type { Logger } from '../ops/logger';

/**
 * One shared connection. No offline queue: while Redis is down a command fails at once instead of
 * waiting in memory, so callers can fall back (the limiter's insurance) and nothing hangs.
 * Auto-pipelining: the commands of every request in one event-loop turn (limits, latest scores)
 * leave in one write and come back in one read, instead of a syscall pair each.
 */
export function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    lazyConnect: false,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  let down = false;
  redis.on('error', (error) => {
    if (!down) logger.warn({ err: error }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis connection restored');
    down = false;
  });
  return redis;
}
