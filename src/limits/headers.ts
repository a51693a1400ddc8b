import type { LimitStatus } from './service';

/**
 * IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers-10): the policies in force and
 * what is left of each, in cost units; `t` is seconds until the window resets.
 */
export function rateLimitHeaders({ burst, daily }: LimitStatus, now = Date.now()): Record<string, string> {
  const dailyReset = Math.max(0, Math.ceil((daily.resetAt.getTime() - now) / 1000));
  return {
    'ratelimit-policy': `"burst";q=${burst.limit};w=1, "daily";q=${daily.limit};w=86400`,
    ratelimit: `"burst";r=${burst.remaining};t=${Math.ceil(burst.resetInMs / 1000)}, "daily";r=${daily.remaining};t=${dailyReset}`,
  };
}

/** `extensions.cost`, after Shopify's: what was asked, what was spent, where the account stands. */
export function costExtension(status: LimitStatus, requested: number, actual: number) {
  return {
    requestedQueryCost: requested,
    actualQueryCost: actual,
    throttleStatus: { maximumAvailable: status.burst.limit, currentlyAvailable: status.burst.remaining, restoreRate: status.burst.limit },
    quota: { limit: status.daily.limit, remaining: status.daily.remaining, resetAt: status.daily.resetAt.toISOString() },
  };
}
