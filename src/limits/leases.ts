import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { PubSub } from '../pubsub/pubsub';

/** The Redis keys of one account's limits on one day. */
export interface LeaseKeys {
  /** The burst window's counter (rate-limiter-flexible's key: `status`, `reward` and the insurance limiter read it unchanged). */
  burst: string;
  /** The day's counter (the same). */
  daily: string;
  /** Who holds leased units of that day, and until when: `holder -> "units:expiresAtMs"`. */
  holders: string;
  /** The newest call of each holder that ran on that day: `holder -> seq` (what a holder never heard back from is settled by it). */
  calls: string;
}

export interface LeaseLimits {
  burstPerSecond: number;
  dailyQuota: number;
}

/** Units this process may admit without asking Redis: each admits one unit of the burst window and one of the day. */
export interface Lease {
  accountId: string;
  day: string;
  keys: LeaseKeys;
  limits: LeaseLimits;
  left: number;
  /** Spent from this lease so far: the next lease is sized from it (the account's recent rate here). */
  spent: number;
  /** The lease ends with the burst window it was drawn from. */
  endsAt: number;
  /** Both counters in Redis right after the grant (everyone's spending plus every unspent lease). */
  burstCounted: number;
  dailyCounted: number;
}

/** What the grant script found. */
export type Grant =
  | { verdict: 'granted'; lease: Lease }
  | { verdict: 'burst'; burstCounted: number; burstResetMs: number; dailyCounted: number }
  | { verdict: 'daily'; burstCounted: number; burstResetMs: number; dailyCounted: number; heldElsewhere: number };

/**
 * What became of the calls this holder sent and never heard back from (Redis went away, or a
 * master died before it answered): `pending` lists them as `seq:units` (units each meant to give
 * back). Those newer than the holder's last call that ran did not run, so their units go back now.
 * If the last call that ran is among them, the lease it granted reached nobody and goes back too
 * (the request it was for was decided without Redis, so the units counted for it stay). If it is
 * this very call, resent by the client after its connection closed, it goes back whole: the units
 * the first run counted for the request are counted again now. Returns whether this call already
 * ran, and the units to give back on behalf of the calls nobody heard back from.
 */
const RECONCILE_LUA = `
local function reconcile(holders, calls, holder, seq, pending, ttl)
  local last, counted = string.match(redis.call('hget', calls, holder) or '0:0', '(%d+):(%d+)')
  last, counted = tonumber(last), tonumber(counted)
  local units, orphan = 0, seq == last
  for s, n in string.gmatch(pending, '(%d+):(%d+)') do
    s = tonumber(s)
    if s > last then units = units + tonumber(n) elseif s == last then orphan = true end
  end
  if orphan then
    local entry = redis.call('hget', holders, holder)
    if entry then units = units + tonumber(string.match(entry, '^(%d+)')) end
  end
  if seq == last then units = units + counted end
  if seq > last then
    redis.call('hset', calls, holder, seq .. ':0')
    redis.call('expire', calls, ttl)
  end
  return seq == last, units
end
`;

/**
 * One atomic step: give back what this holder's previous lease left unspent, then grant `need`
 * units plus a surplus of at most `want`, both from the burst window and the day. The surplus is
 * at most 1/share of what would remain of either limit, so leases shrink as a limit nears and at
 * the limit every grant is exactly one request's units. A refusal by the day reports how many
 * units other live holders still hold (holders whose lease ended more than `grace` ms ago are
 * dead processes: their entries are dropped, their units stay spent).
 */
const GRANT_LUA = `${RECONCILE_LUA}
local holder, giveBack, need, want = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local burstLimit, dailyLimit, share = tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[9])
local ran, unheard = reconcile(KEYS[3], KEYS[4], holder, tonumber(ARGV[11]), ARGV[12], ARGV[8])
if ran then giveBack = unheard else giveBack = giveBack + unheard end
local time = redis.call('time')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('set', KEYS[2], 0, 'EX', ARGV[8], 'NX')
if giveBack > 0 then redis.call('decrby', KEYS[2], giveBack) end
redis.call('hdel', KEYS[3], holder)
local daily = tonumber(redis.call('get', KEYS[2]))
redis.call('set', KEYS[1], 0, 'EX', ARGV[6], 'NX')
local burst = tonumber(redis.call('get', KEYS[1]))
local burstTtl = redis.call('pttl', KEYS[1])
if burstTtl < 0 then
  redis.call('expire', KEYS[1], ARGV[6])
  burstTtl = 1000 * tonumber(ARGV[6])
end
if burst + need > burstLimit then return {0, burst, burstTtl, daily, 0} end
if daily + need > dailyLimit then
  local held = 0
  local entries = redis.call('hgetall', KEYS[3])
  for i = 1, #entries, 2 do
    local units, expires = string.match(entries[i + 1], '(%d+):(%d+)')
    if tonumber(expires) + tonumber(ARGV[10]) < now then redis.call('hdel', KEYS[3], entries[i]) else held = held + tonumber(units) end
  end
  return {1, burst, burstTtl, daily, held}
end
local surplus = math.min(want, math.floor((dailyLimit - daily - need) / share), math.floor((burstLimit - burst - need) / share))
redis.call('incrby', KEYS[1], need + surplus)
redis.call('incrby', KEYS[2], need + surplus)
redis.call('hset', KEYS[4], holder, ARGV[11] .. ':' .. need)
if surplus > 0 then
  redis.call('hset', KEYS[3], holder, surplus .. ':' .. (now + burstTtl))
  redis.call('expire', KEYS[3], ARGV[8])
end
return {2, burst + need + surplus, burstTtl, daily + need + surplus, surplus}
`;

/** Gives back a lease's unspent units to its day (the burst units end with their window anyway). */
const SETTLE_LUA = `${RECONCILE_LUA}
local ran, unheard = reconcile(KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[3]), ARGV[4], ARGV[5])
local units = unheard
if not ran then units = units + tonumber(ARGV[2]) end
if units > 0 and redis.call('exists', KEYS[1]) == 1 then redis.call('decrby', KEYS[1], units) end
redis.call('hdel', KEYS[2], ARGV[1])
`;

/** Draws `need` units from the day alone, no lease (live feeds: the server sets their pace). */
const DRAW_DAILY_LUA = `
redis.call('set', KEYS[1], 0, 'EX', ARGV[3], 'NX')
local daily = redis.call('incrby', KEYS[1], ARGV[1])
if daily > tonumber(ARGV[2]) then
  redis.call('decrby', KEYS[1], ARGV[1])
  return {0, daily - tonumber(ARGV[1])}
end
return {1, daily}
`;

type GrantCommand = (
  burst: string,
  daily: string,
  holders: string,
  calls: string,
  ...args: Array<string | number>
) => Promise<[number, number, number, number, number]>;
type SettleCommand = (
  daily: string,
  holders: string,
  calls: string,
  holder: string,
  units: number,
  seq: number,
  pending: string,
  ttlSec: number,
) => Promise<unknown>;

/** A call to Redis this process never heard back from, and the units it meant to give back. */
interface Unheard {
  seq: number;
  units: number;
}
/** What one day is owed: units of calls that were never sent, and the calls never heard back from. */
interface Owed {
  keys: LeaseKeys;
  unsent: number;
  calls: Unheard[];
}
type DrawDailyCommand = (daily: string, units: number, limit: number, ttlSec: number) => Promise<[number, number]>;

export interface LeaseOptions {
  burstWindowSec: number;
  dailyTtlSec: number;
  /** A surplus is at most 1/share of what remains of a limit. */
  share: number;
  /** The largest surplus one lease takes. */
  maxSurplus: number;
  /** How long after a lease's end its holder is presumed dead when nobody settled it. */
  graceMs: number;
}

export const RECALL_CHANNEL = 'limits:recall';
/** A lease's surplus is at most 1/8 of what remains of either limit. */
export const LEASE_SHARE = 8;
/** A holder that has not settled a lease this long after its end is presumed dead. */
export const LEASE_GRACE_MS = 2000;

/**
 * Quota leases in Redis (after Doorman and CockroachDB's distributed token bucket): a gateway
 * process takes units of an account's burst window and day in one script call and admits
 * requests from them locally until they run out or the window ends, so a busy account costs one
 * round trip per lease, not per request. Every unit admitted anywhere was granted by Redis first,
 * so nothing is over-admitted; what a lease leaves unspent goes back to the day when the next
 * lease is taken, on a recall and at shutdown; a call that gets no answer is settled by the
 * next one (RECONCILE_LUA). A process killed with a lease loses its unspent units until the
 * day's quota resets.
 */
export class QuotaLeaseStore {
  /** This process among the holders of an account's units. */
  readonly holder = `${process.pid}-${randomBytes(4).toString('hex')}`;
  /** Numbers this holder's calls, so Redis can tell which of those never answered ran. */
  private seq = 0;
  /** What each day is owed from calls that failed, by the day's holders key: settled by the next call of that day. */
  private readonly owed = new Map<string, Owed>();
  private readonly grantCommand: GrantCommand;
  private readonly settleCommand: SettleCommand;
  private readonly drawDailyCommand: DrawDailyCommand;

  constructor(
    private readonly redis: Redis,
    private readonly pubsub: PubSub,
    readonly options: LeaseOptions,
  ) {
    redis.defineCommand('tollgraphLeaseGrant', { numberOfKeys: 4, lua: GRANT_LUA });
    redis.defineCommand('tollgraphLeaseSettle', { numberOfKeys: 3, lua: SETTLE_LUA });
    redis.defineCommand('tollgraphDrawDaily', { numberOfKeys: 1, lua: DRAW_DAILY_LUA });
    const commands = redis as unknown as { tollgraphLeaseGrant: GrantCommand; tollgraphLeaseSettle: SettleCommand; tollgraphDrawDaily: DrawDailyCommand };
    this.grantCommand = commands.tollgraphLeaseGrant.bind(redis);
    this.settleCommand = commands.tollgraphLeaseSettle.bind(redis);
    this.drawDailyCommand = commands.tollgraphDrawDaily.bind(redis);
  }

  private ready(): void {
    if (this.redis.status !== 'ready') throw new Error(`redis is ${this.redis.status}`);
  }

  /** Gives `giveBack` units (this holder's previous lease of the same day, unspent) back and asks for `need` units plus up to `want` more. */
  async grant(request: { accountId: string; day: string; keys: LeaseKeys; limits: LeaseLimits; need: number; want: number; giveBack: number }): Promise<Grant> {
    const { keys, limits, need, giveBack } = request;
    const { burstWindowSec, dailyTtlSec, share, graceMs } = this.options;
    const [verdict, burstCounted, burstResetMs, dailyCounted, extra] = await this.call(keys, giveBack, (seq, units, pending) =>
      this.grantCommand(
        keys.burst,
        keys.daily,
        keys.holders,
        keys.calls,
        this.holder,
        units,
        need,
        Math.min(request.want, this.options.maxSurplus),
        limits.burstPerSecond,
        burstWindowSec,
        limits.dailyQuota,
        dailyTtlSec,
        share,
        graceMs,
        seq,
        pending,
      ),
    );
    if (verdict === 0) return { verdict: 'burst', burstCounted, burstResetMs, dailyCounted };
    if (verdict === 1) return { verdict: 'daily', burstCounted, burstResetMs, dailyCounted, heldElsewhere: extra };
    const lease: Lease = {
      accountId: request.accountId,
      day: request.day,
      keys,
      limits,
      left: extra,
      spent: need,
      endsAt: Date.now() + burstResetMs,
      burstCounted,
      dailyCounted,
    };
    return { verdict: 'granted', lease };
  }

  /** Gives a lease's unspent units back to its day. */
  async settle(lease: Lease): Promise<void> {
    const unspent = lease.left;
    lease.left = 0;
    await this.settleWith(lease.keys, unspent);
  }

  /** Settles what each day is owed (calls never sent, calls never heard back from), now that Redis may answer again. */
  async settleOwed(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    await Promise.all([...this.owed].map(([, { keys }]) => this.settleWith(keys, 0).catch(() => undefined)));
  }

  private settleWith(keys: LeaseKeys, units: number): Promise<unknown> {
    return this.call(keys, units, (seq, total, pending) =>
      this.settleCommand(keys.daily, keys.holders, keys.calls, this.holder, total, seq, pending, this.options.dailyTtlSec),
    );
  }

  /**
   * Runs one call that gives `units` back, with what this process owes the same day from calls
   * that never reached Redis (their units ride along) and those it never heard back from (the
   * script settles them: a call is numbered, so Redis tells which of them ran). Units on their
   * way back are never lost when Redis goes away: a call refused before it was sent adds its
   * units to one sum, so a long outage costs a number, not a list; a call that fails after it
   * was sent joins the unheard ones, whether or not it ran.
   */
  private async call<T>(keys: LeaseKeys, units: number, run: (seq: number, units: number, pending: string) => Promise<T>): Promise<T> {
    const owed = this.owed.get(keys.holders);
    try {
      this.ready();
    } catch (error) {
      if (units > 0) this.owedTo(keys).unsent += units;
      throw error;
    }
    const seq = ++this.seq;
    const total = units + (owed?.unsent ?? 0);
    const sent = owed ? [...owed.calls] : [];
    if (owed) owed.unsent = 0;
    try {
      const result = await run(seq, total, sent.map((call) => `${call.seq}:${call.units}`).join(','));
      if (owed) {
        owed.calls = owed.calls.filter((call) => !sent.includes(call));
        if (owed.calls.length === 0 && owed.unsent === 0 && this.owed.get(keys.holders) === owed) this.owed.delete(keys.holders);
      }
      return result;
    } catch (error) {
      this.owedTo(keys).calls.push({ seq, units: total });
      throw error;
    }
  }

  private owedTo(keys: LeaseKeys): Owed {
    let owed = this.owed.get(keys.holders);
    if (!owed) this.owed.set(keys.holders, (owed = { keys, calls: [], unsent: 0 }));
    return owed;
  }

  /** `units` from the day only, unless that would pass `limit`; with the day's counter after the draw (before it, when refused). */
  async drawDaily(dailyKey: string, units: number, limit: number): Promise<{ admitted: boolean; dailyCounted: number }> {
    this.ready();
    const [admitted, dailyCounted] = await this.drawDailyCommand(dailyKey, units, limit, this.options.dailyTtlSec);
    return { admitted: admitted === 1, dailyCounted };
  }

  /** Asks every process holding units of the account's day to give them back now. */
  recall(accountId: string): Promise<void> {
    return this.pubsub.publish(RECALL_CHANNEL, accountId);
  }

  onRecall(handler: (accountId: string) => void): Promise<() => Promise<void>> {
    return this.pubsub.subscribe(RECALL_CHANNEL, handler);
  }
}
