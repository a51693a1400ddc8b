import { RateLimiterRes } from 'rate-limiter-flexible';
import { TollgraphError } from '../errors';
import type { LimiterFactory } from './limiter-factory';

const WINDOW_SEC = 60;
/** Counted in memory while Redis is down, whatever LIMITS_REDIS_DOWN_POLICY says about metered requests. */
const INSURED = { insured: true } as const;

function tooMany(what: string, msBeforeNext: number): TollgraphError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new TollgraphError('RATE_LIMITED', `Too many ${what} from this address; retry after ${retryAfter} s.`, {
    extensions: { retryAfterSeconds: retryAfter },
    headers: { 'retry-after': String(retryAfter) },
  });
}

/**
 * Per-client-address limits for what has no account to charge: failed authentication (key
 * guessing) and anonymous public queries. An address over the failure limit is remembered in
 * this process, so its next guesses are refused without a key lookup.
 */
export class AbuseGuard {
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly limiters: LimiterFactory,
    private readonly failuresPerMinute: number,
    private readonly anonymousPerMinute: number,
  ) {}

  isBlocked(ip: string): boolean {
    const until = this.blockedUntil.get(ip);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.blockedUntil.delete(ip);
    return false;
  }

  async authenticationFailed(ip: string): Promise<void> {
    try {
      await this.limiters.get('auth-failures', this.failuresPerMinute, WINDOW_SEC, INSURED).consume(ip, 1);
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) return; // store and insurance both failed: the 401 still stands
      this.blockedUntil.set(ip, Date.now() + outcome.msBeforeNext);
      throw tooMany('failed authentications', outcome.msBeforeNext);
    }
  }

  async anonymousRequest(ip: string): Promise<void> {
    try {
      await this.limiters.get('anonymous', this.anonymousPerMinute, WINDOW_SEC, INSURED).consume(ip, 1);
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) throw tooMany('requests without an API key', outcome.msBeforeNext);
    }
  }
}
