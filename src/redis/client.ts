import { Redis } from 'ioredis';
import type { Logger } from '../ops/logger';

/**
 * One shared connection. No offline queue: while Redis is down a command fails at once instead of
 * waiting in memory, so callers can fall back (the limiter's insurance) and nothing hangs.
 */
export function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    lazyConnect: false,
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
