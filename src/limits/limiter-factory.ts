import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * What to do while Redis cannot be reached:
 * - `insurance` (default): each process enforces its share of every limit in memory;
 * - `fail-closed`: refuse metered requests (SERVICE_UNAVAILABLE);
 * - `fail-open`: admit everything (limits off until Redis returns).
 */
export type RedisDownPolicy = 'insurance' | 'fail-closed' | 'fail-open';

export interface LimiterFactory {
  /** A limiter of `points` per `durationSec` under `name`; memoised, keys shared across limits. */
  get(name: string, points: number, durationSec: number): RateLimiterAbstract;
  /** True while Redis is configured but unreachable, so limits fall back to the policy. */
  degraded(): boolean;
}

function memoise(build: (name: string, points: number, durationSec: number) => RateLimiterAbstract) {
  const limiters = new Map<string, RateLimiterAbstract>();
  return (name: string, points: number, durationSec: number) => {
    const id = `${name}:${points}:${durationSec}`;
    let limiter = limiters.get(id);
    if (!limiter) limiters.set(id, (limiter = build(name, points, durationSec)));
    return limiter;
  };
}

/** The embedded mode: one process, so memory is the whole truth. */
export function memoryLimiters(): LimiterFactory {
  return {
    get: memoise((name, points, duration) => new RateLimiterMemory({ keyPrefix: name, points, duration })),
    degraded: () => false,
  };
}

/**
 * Limits in Redis, atomic across every gateway process (rate-limiter-flexible's Lua INCRBY).
 * The key prefix does not include the limit, so a plan change keeps what was already used.
 */
export function redisLimiters(redis: Redis, prefix: string, policy: RedisDownPolicy, insuranceShare: number): LimiterFactory {
  return {
    get: memoise(
      (name, points, duration) =>
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${prefix}limits:${name}`,
          points,
          duration,
          rejectIfRedisNotReady: true,
          ...(policy === 'insurance'
            ? { insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${name}:insurance`, points: Math.max(1, Math.floor(points * insuranceShare)), duration }) }
            : {}),
        }),
    ),
    degraded: () => redis.status !== 'ready',
  };
}
