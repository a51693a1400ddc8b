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
  /**
   * A limiter of `points` per `durationSec` under `name`; memoised, keys shared across limits.
   * `insured`: it counts in memory while Redis is down whatever the policy (the per-address limits:
   * the policy says what to do with metered requests, not whether to stop counting key guesses).
   */
  get(name: string, points: number, durationSec: number, options?: { insured?: boolean }): RateLimiterAbstract;
  /** True while Redis is configured but unreachable, so limits fall back to the policy. */
  degraded(): boolean;
  /** The key an account's limits are counted under (its daily key adds `:day`). */
  accountKey(accountId: string): string;
}

const plainKey = (accountId: string) => accountId;
/**
 * In a Redis Cluster a key's slot is the hash of its `{...}` part when it has one: the account's
 * burst window, day and lease holders share its slot, so the lease scripts that touch all three
 * run on one node. A single Redis keeps the plain id: the keys (and the day's counters) of a
 * running deployment stay what they were.
 */
const hashTaggedKey = (accountId: string) => `{${accountId}}`;

function memoise(build: (name: string, points: number, durationSec: number, insured: boolean) => RateLimiterAbstract) {
  const limiters = new Map<string, RateLimiterAbstract>();
  return (name: string, points: number, durationSec: number, options?: { insured?: boolean }) => {
    const insured = options?.insured === true;
    const id = `${name}:${points}:${durationSec}:${insured}`;
    let limiter = limiters.get(id);
    if (!limiter) limiters.set(id, (limiter = build(name, points, durationSec, insured)));
    return limiter;
  };
}

/** The embedded mode: one process, so memory is the whole truth. */
export function memoryLimiters(): LimiterFactory {
  return {
    get: memoise((name, points, duration) => new RateLimiterMemory({ keyPrefix: name, points, duration })),
    degraded: () => false,
    accountKey: plainKey,
  };
}

/**
 * Limits in Redis, atomic across every gateway process (rate-limiter-flexible's Lua INCRBY).
 * The key prefix does not include the limit, so a plan change keeps what was already used.
 * `redis` may be a Cluster (typed as Redis, see connectRedis): each limiter's script has one key.
 */
export function redisLimiters(redis: Redis, prefix: string, policy: RedisDownPolicy, insuranceShare: number): LimiterFactory {
  return {
    get: memoise(
      (name, points, duration, insured) =>
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${prefix}limits:${name}`,
          points,
          duration,
          rejectIfRedisNotReady: true,
          ...(insured || policy === 'insurance'
            ? {
                insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${name}:insurance`, points: Math.max(1, Math.floor(points * insuranceShare)), duration }),
              }
            : {}),
        }),
    ),
    degraded: () => redis.status !== 'ready',
    accountKey: redis.isCluster ? hashTaggedKey : plainKey,
  };
}
