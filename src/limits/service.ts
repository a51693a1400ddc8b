import { RateLimiterRes } from 'rate-limiter-flexible';
import type { AccountAccess } from '../accounts/service';
import { TollgraphError } from '../errors';
import type { Logger } from '../ops/logger';
import type { PlanCatalog } from '../plans/service';
import type { QuotaAlerts } from './alerts';
import type { LeaseBook, ReserveCounts } from './lease-book';
import type { Lease, LeaseKeys } from './leases';
import type { LimiterFactory, RedisDownPolicy } from './limiter-factory';
import { BURST_WINDOW_SEC, DAILY_KEY_TTL_SEC, utcDay } from './quota-window';

/** Where an account stands: burst bucket and daily quota, both in cost units. */
export interface LimitStatus {
  burst: { limit: number; remaining: number; resetInMs: number };
  daily: { limit: number; used: number; remaining: number; resetAt: Date };
}

/** Units reserved for one request before it runs. */
export interface Reservation {
  accountId: string;
  day: string;
  units: number;
  /** When the burst window the units were drawn from ends (ms since the epoch); 0: not drawn from the burst. */
  burstWindowEndsAt: number;
  /** The lease the units came from, when they did. */
  lease?: Lease;
  status: LimitStatus;
}

const isRejection = (value: unknown): value is RateLimiterRes => value instanceof RateLimiterRes;

/**
 * Burst and daily limits per account (after GitHub and Shopify): reserve the requested cost
 * before the query runs, refund what it did not use afterwards. With Redis, units come from
 * quota leases (`LeaseBook`): a round trip per lease, not per request.
 */
export class LimitService {
  constructor(
    private readonly limiters: LimiterFactory,
    private readonly plans: PlanCatalog,
    private readonly alerts: QuotaAlerts,
    private readonly policy: RedisDownPolicy,
    private readonly logger: Logger,
    private readonly leases?: LeaseBook,
  ) {}

  private burst(access: AccountAccess) {
    return this.limiters.get('burst', access.limits.burstPerSecond, BURST_WINDOW_SEC);
  }

  private daily(access: AccountAccess) {
    return this.limiters.get('daily', access.limits.dailyQuota, DAILY_KEY_TTL_SEC);
  }

  private burstKey(accountId: string): string {
    return this.limiters.accountKey(accountId);
  }

  private dailyKey(accountId: string, day: string): string {
    return `${this.limiters.accountKey(accountId)}:${day}`;
  }

  /**
   * Reserves `units` or throws RATE_LIMITED / QUOTA_EXCEEDED (nothing stays reserved then).
   * `burst: false` draws from the daily quota only: for live feeds, whose pace the server sets.
   */
  async reserve(access: AccountAccess, units: number, { burst = true } = {}): Promise<Reservation | undefined> {
    const { account, limits } = access;
    const { day, resetAt } = utcDay();
    const counts = await this.draw(access, day, units, burst);
    if (!counts) return undefined;
    if (counts.verdict === 'burst') {
      const retryAfterSeconds = Math.max(1, Math.ceil(counts.burstResetMs / 1000));
      throw new TollgraphError('RATE_LIMITED', `Burst limit of ${limits.burstPerSecond} cost units per second exceeded; retry after the time given.`, {
        extensions: { retryAfterSeconds, limit: limits.burstPerSecond },
        headers: { 'retry-after': String(retryAfterSeconds) },
      });
    }
    if (counts.verdict === 'daily') {
      // A plan above the account's own that allows more a day (an override can make the account's
      // quota differ from its plan's, so the plan's place in the list decides what is "above").
      const plans = await this.plans.list();
      const above = plans.slice(plans.findIndex((plan) => plan.code === access.plan.code) + 1);
      const upgrade = above.find((plan) => plan.dailyQuota > limits.dailyQuota);
      throw new TollgraphError(
        'QUOTA_EXCEEDED',
        `Daily quota of ${limits.dailyQuota} cost units spent; it resets at ${resetAt.toISOString()}.${upgrade ? ` The ${upgrade.code} plan allows ${upgrade.dailyQuota} a day.` : ''}`,
        {
          extensions: { resetAt: resetAt.toISOString(), limit: limits.dailyQuota, upgradeTo: upgrade?.code ?? null },
          headers: { 'retry-after': String(Math.ceil((resetAt.getTime() - Date.now()) / 1000)) },
        },
      );
    }
    const used = counts.dailyUsed;
    await this.alerts.observe(access, day, used - units, used);
    return {
      accountId: account.id,
      day,
      units,
      burstWindowEndsAt: burst ? Date.now() + counts.burstResetMs : 0,
      lease: counts.lease,
      status: statusOf(access, counts, resetAt),
    };
  }

  private keys(access: AccountAccess, day: string): LeaseKeys {
    const daily = this.daily(access).getKey(this.dailyKey(access.account.id, day));
    return { burst: this.burst(access).getKey(this.burstKey(access.account.id)), daily, holders: `${daily}:holders`, calls: `${daily}:calls` };
  }

  /**
   * Burst (unless left out), then daily: from a lease (or, without the burst, one atomic draw) when Redis is
   * there, else (and while Redis is unreachable) limiter by limiter, where the Redis-down policy applies.
   * Undefined: fail-open.
   */
  private async draw(access: AccountAccess, day: string, units: number, withBurst: boolean): Promise<ReserveCounts | undefined> {
    if (this.leases) {
      // Most requests of a busy account end here, with no key built and no round trip.
      const local = withBurst ? this.leases.takeLocal(access.account.id, day, access.limits, units) : undefined;
      if (local) return local;
      try {
        const request = { accountId: access.account.id, day, keys: this.keys(access, day), limits: access.limits, units };
        return await (withBurst ? this.leases.take(request) : this.leases.drawDaily(request));
      } catch {
        // Redis unreachable: the limiters below apply the policy (insurance, fail-closed or fail-open).
      }
    }
    const burst = { limiter: this.burst(access), key: this.burstKey(access.account.id) };
    const daily = { limiter: this.daily(access), key: this.dailyKey(access.account.id, day) };
    let counts = { burstUsed: 0, burstResetMs: 0 };
    if (withBurst) {
      try {
        const burstRes = await burst.limiter.consume(burst.key, units);
        counts = { burstUsed: burstRes.consumedPoints, burstResetMs: burstRes.msBeforeNext };
      } catch (outcome) {
        if (!isRejection(outcome)) return this.storeDown(outcome);
        return { verdict: 'burst', burstUsed: outcome.consumedPoints, burstResetMs: outcome.msBeforeNext, dailyUsed: 0 };
      }
    }
    try {
      const dailyRes = await daily.limiter.consume(daily.key, units);
      return { verdict: 'admitted', ...counts, dailyUsed: dailyRes.consumedPoints };
    } catch (outcome) {
      if (!isRejection(outcome)) return this.storeDown(outcome);
      // Rejected units were counted by the INCRBY: give them back so the counter stays exact.
      await daily.limiter.reward(daily.key, units).catch(() => undefined);
      return { verdict: 'daily', ...counts, dailyUsed: outcome.consumedPoints - units };
    }
  }

  /** Gives back what a request reserved but did not use; returns the status after the refund. */
  async refund(access: AccountAccess, reservation: Reservation, unused: number): Promise<LimitStatus> {
    if (unused <= 0) return reservation.status;
    const refunded = reservation.lease && this.leases?.refund(reservation.lease, unused);
    if (refunded) return statusOf(access, refunded, reservation.status.daily.resetAt);
    // Burst units go back only into the window they came from: a later window never gets more
    // than its limit (a refund racing the window's end can add at most `unused` to the next).
    const sameWindow = Date.now() < reservation.burstWindowEndsAt;
    const [daily, burst] = await Promise.all([
      this.daily(access)
        .reward(this.dailyKey(reservation.accountId, reservation.day), unused)
        .catch((error: unknown) => void this.logger.warn({ err: error, accountId: reservation.accountId, unused }, 'could not refund unused cost units')),
      sameWindow
        ? this.burst(access)
            .reward(this.burstKey(reservation.accountId), unused)
            .catch(() => undefined)
        : undefined,
    ]);
    const status = reservation.status;
    const used = daily ? Math.max(0, daily.consumedPoints) : status.daily.used;
    return {
      burst: burst ? { ...status.burst, remaining: Math.min(status.burst.limit, Math.max(0, status.burst.limit - burst.consumedPoints)) } : status.burst,
      daily: { ...status.daily, used, remaining: Math.max(0, status.daily.limit - used) },
    };
  }

  /** The account's standing without spending anything (the free `rateLimit` query, headers on rejections). */
  async status(access: AccountAccess): Promise<LimitStatus> {
    const { day, resetAt } = utcDay();
    const { burstPerSecond, dailyQuota } = access.limits;
    const [burst, daily] = await Promise.all([
      this.burst(access)
        .get(this.burstKey(access.account.id))
        .catch(() => null),
      this.daily(access)
        .get(this.dailyKey(access.account.id, day))
        .catch(() => null),
    ]);
    // Units this process leased and has not spent are not used (other processes' are counted: they may be).
    const unspent = this.leases?.unspent(access.account.id, day) ?? { daily: 0, burst: 0 };
    const used = Math.max(0, (daily?.consumedPoints ?? 0) - unspent.daily);
    return {
      burst: {
        limit: burstPerSecond,
        remaining: Math.max(0, burstPerSecond - (burst?.consumedPoints ?? 0) + unspent.burst),
        resetInMs: burst?.msBeforeNext ?? 0,
      },
      daily: { limit: dailyQuota, used, remaining: Math.max(0, dailyQuota - used), resetAt },
    };
  }

  /** True while Redis is configured but unreachable (the Redis-down policy is in force). */
  degraded(): boolean {
    return this.limiters.degraded();
  }

  /**
   * Where limits live in this process's memory (no Redis), today's daily counters start from what
   * the usage ledger recorded, so a restart (or a kill -9) does not hand every account a fresh day.
   */
  async restoreDaily(used: Array<{ accountId: string; units: number }>, accessOf: (accountId: string) => Promise<AccountAccess | null>): Promise<void> {
    const { day } = utcDay();
    for (const { accountId, units } of used) {
      const access = await accessOf(accountId);
      if (access && units > 0) await this.daily(access).set(this.dailyKey(accountId, day), units, DAILY_KEY_TTL_SEC);
    }
  }

  /** Gives every lease back (shutdown). */
  async close(): Promise<void> {
    await this.leases?.close();
  }

  private storeDown(error: unknown): undefined {
    this.logger.warn({ err: error, policy: this.policy }, 'limit store unavailable');
    if (this.policy === 'fail-open') return undefined;
    throw new TollgraphError('SERVICE_UNAVAILABLE', 'Limits cannot be checked right now; retry shortly.', { headers: { 'retry-after': '1' } });
  }
}

function statusOf({ limits }: AccountAccess, counts: ReserveCounts, resetAt: Date): LimitStatus {
  const used = counts.dailyUsed;
  return {
    burst: { limit: limits.burstPerSecond, remaining: Math.max(0, limits.burstPerSecond - counts.burstUsed), resetInMs: counts.burstResetMs },
    daily: { limit: limits.dailyQuota, used, remaining: Math.max(0, limits.dailyQuota - used), resetAt },
  };
}
