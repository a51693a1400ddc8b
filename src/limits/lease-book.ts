import type { Logger } from '../ops/logger';
import type { Lease, LeaseKeys, LeaseLimits, QuotaLeaseStore } from './leases';

/** What one reservation found: which limit refused it, if any, and both counters after it. */
export interface ReserveCounts {
  verdict: 'admitted' | 'burst' | 'daily';
  burstUsed: number;
  burstResetMs: number;
  /** Daily units used after this reservation (before it, when it was refused). */
  dailyUsed: number;
  /** The lease the units came from (refunds go back into it while it lasts). */
  lease?: Lease;
}

export interface LeaseRequest {
  accountId: string;
  day: string;
  keys: LeaseKeys;
  limits: LeaseLimits;
  units: number;
}

/** How a reservation was decided: from this process's lease, or with a round trip to Redis. */
export type ReservationPath = 'lease' | 'redis';

/** After a refusal by the day while other processes hold units, how long to wait for them (ms, in turn). */
const RECALL_WAITS_MS = [2, 5, 10, 20];

const sameLimits = (a: LeaseLimits, b: LeaseLimits) => a.burstPerSecond === b.burstPerSecond && a.dailyQuota === b.dailyQuota;

/**
 * This process's leases, one per account: requests are admitted from the account's lease while
 * it has units, the burst window it came from lasts and the account's limits are the ones it was
 * taken under (a plan change or an override takes a new lease on the next request). One grant
 * per account is in flight at a time; requests that arrive meanwhile wait for it.
 *
 * Refusals stay exact: near a limit leases shrink to one request's units (Redis grants at most
 * 1/share of what remains as surplus), and before the day refuses a request while other
 * processes still hold units of it, they are recalled and the grant is tried again.
 */
export class LeaseBook {
  private readonly leases = new Map<string, Lease>();
  private readonly granting = new Map<string, Promise<unknown>>();
  private readonly sweeper: NodeJS.Timeout;
  private unsubscribe?: () => Promise<void>;

  private constructor(
    private readonly store: QuotaLeaseStore,
    private readonly logger: Logger,
    private readonly observe: (path: ReservationPath) => void,
  ) {
    // Leases of accounts that went quiet give their unspent units back soon after their window.
    this.sweeper = setInterval(() => this.sweep(), store.options.burstWindowSec * 1000).unref();
  }

  static async create(store: QuotaLeaseStore, logger: Logger, observe: (path: ReservationPath) => void = () => undefined): Promise<LeaseBook> {
    const book = new LeaseBook(store, logger, observe);
    book.unsubscribe = await store.onRecall((accountId) => book.giveBack(accountId));
    return book;
  }

  /** Admits `units` from the account's lease when it can, without waiting for anything. */
  takeLocal(accountId: string, day: string, limits: LeaseLimits, units: number): ReserveCounts | undefined {
    const lease = this.leases.get(accountId);
    const now = Date.now();
    if (!lease || lease.day !== day || now >= lease.endsAt || !sameLimits(lease.limits, limits) || lease.left < units) return undefined;
    lease.left -= units;
    lease.spent += units;
    this.observe('lease');
    return countsOf('admitted', lease, now);
  }

  /** Admits `units` from the account's lease, taking a new one when needed; rejects when Redis cannot be reached. */
  async take(request: LeaseRequest): Promise<ReserveCounts> {
    for (;;) {
      const local = this.takeLocal(request.accountId, request.day, request.limits, request.units);
      if (local) return local;
      const lease = this.leases.get(request.accountId);
      const inFlight = this.granting.get(request.accountId);
      if (inFlight) {
        await inFlight.catch(() => undefined);
        continue;
      }
      const grant = this.grant(request, lease);
      this.granting.set(request.accountId, grant);
      try {
        return await grant;
      } finally {
        this.granting.delete(request.accountId);
      }
    }
  }

  /** A new lease that starts with the request's units spent, the old one's unspent units given back in the same step. */
  private async grant(request: LeaseRequest, previous: Lease | undefined): Promise<ReserveCounts> {
    // Detached first: nothing may be admitted from units that are on their way back.
    this.leases.delete(request.accountId);
    let giveBack = 0;
    if (previous && previous.day === request.day) {
      giveBack = previous.left;
      previous.left = 0;
    }
    const want = previous ? 2 * previous.spent : 0;
    for (let recall = 0; ; recall++) {
      const grant = await this.store.grant({ ...request, need: request.units, want, giveBack });
      this.observe('redis');
      giveBack = 0;
      if (grant.verdict === 'granted') {
        this.leases.set(request.accountId, grant.lease);
        return countsOf('admitted', grant.lease, Date.now());
      }
      const counts = { verdict: grant.verdict, burstUsed: grant.burstCounted, burstResetMs: grant.burstResetMs, dailyUsed: grant.dailyCounted };
      if (grant.verdict === 'burst' || grant.heldElsewhere === 0 || recall === RECALL_WAITS_MS.length) return counts;
      if (recall === 0) await this.store.recall(request.accountId);
      await new Promise((resolve) => setTimeout(resolve, RECALL_WAITS_MS[recall]));
    }
  }

  /** `units` from the day alone, no lease and no burst (live feeds: the server sets their pace). */
  async drawDaily({ keys, limits, units }: LeaseRequest): Promise<ReserveCounts> {
    const { admitted, dailyCounted } = await this.store.drawDaily(keys.daily, units, limits.dailyQuota);
    this.observe('redis');
    return { verdict: admitted ? 'admitted' : 'daily', burstUsed: 0, burstResetMs: 0, dailyUsed: dailyCounted };
  }

  /** Puts refunded units back into the lease they came from while it lasts; the counts after it, or undefined when the lease is over. */
  refund(lease: Lease, units: number): ReserveCounts | undefined {
    if (this.leases.get(lease.accountId) !== lease || Date.now() >= lease.endsAt) return undefined;
    lease.left += units;
    lease.spent -= units;
    return countsOf('admitted', lease, Date.now());
  }

  /**
   * Units this process holds and has not spent: of the account's day (until the lease is given
   * back), and of the current burst window (while the lease lasts).
   */
  unspent(accountId: string, day: string): { daily: number; burst: number } {
    const lease = this.leases.get(accountId);
    if (!lease || lease.day !== day) return { daily: 0, burst: 0 };
    return { daily: lease.left, burst: Date.now() < lease.endsAt ? lease.left : 0 };
  }

  private giveBack(accountId: string): void {
    const lease = this.leases.get(accountId);
    if (!lease) return;
    this.leases.delete(accountId);
    this.settle(lease);
  }

  private settle(lease: Lease): void {
    this.store.settle(lease).catch((error: unknown) => this.logger.warn({ err: error, accountId: lease.accountId }, 'could not give back a quota lease'));
  }

  private sweep(): void {
    void this.store.settleOwed();
    const now = Date.now();
    for (const [accountId, lease] of this.leases) {
      if (now < lease.endsAt || this.granting.has(accountId)) continue;
      this.leases.delete(accountId);
      this.settle(lease);
    }
  }

  /** Gives every lease back (shutdown). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.unsubscribe?.().catch(() => undefined);
    const leases = [...this.leases.values()];
    this.leases.clear();
    await Promise.all(leases.map((lease) => this.store.settle(lease).catch(() => undefined)));
    await this.store.settleOwed();
  }
}

function countsOf(verdict: ReserveCounts['verdict'], lease: Lease, now: number): ReserveCounts {
  return {
    verdict,
    burstUsed: lease.burstCounted - lease.left,
    burstResetMs: Math.max(0, lease.endsAt - now),
    dailyUsed: lease.dailyCounted - lease.left,
    lease,
  };
}
