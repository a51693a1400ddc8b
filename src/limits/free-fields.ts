import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { TollgraphError } from '../errors';

/**
 * Fields that cost no units (`usage`, `slaReport`, `me`, `rateLimit`…) still cost the server
 * work, so each account may ask for at most `perSecond` of them a second in each gateway process.
 * Counted in memory, not in Redis: a free field adds no round trip, and across N processes an
 * account gets at most N x perSecond, enough to bound the work (it is not billed).
 */
export class FreeFieldLimit {
  private readonly limiter: RateLimiterMemory;

  constructor(readonly perSecond: number) {
    this.limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
  }

  /** Takes `fields` from the account's second; RATE_LIMITED (429, Retry-After) when they do not fit. */
  async take(accountId: string, fields: number): Promise<void> {
    try {
      await this.limiter.consume(accountId, fields);
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      const retryAfter = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
      throw new TollgraphError(
        'RATE_LIMITED',
        `Too many free fields (usage, slaReport, me, rateLimit…) for this account: at most ${this.perSecond} a second; retry after ${retryAfter} s.`,
        { extensions: { retryAfterSeconds: retryAfter, freeFieldsPerSecond: this.perSecond }, headers: { 'retry-after': String(retryAfter) } },
      );
    }
  }
}
