import { isCanonical } from '../graphql/date-time';
import { MODEL_VERSION } from './model/parameters';
import type { Assessment, Band, RiskFactor, Transaction } from './model/types';

/**
 * A score as it travels: in Redis (latest per customer), on the pub/sub channel, on the
 * `risk-scores` topic, and into the GraphQL `RiskScore` type. Times are ISO strings.
 */
export interface RiskScoreView {
  customerId: string;
  eventId: string;
  score: number;
  band: Band;
  factors: RiskFactor[];
  eventTime: string;
  computedAt: string;
  modelVersion: string;
}

/**
 * A score the pipeline made, which keeps its JSON once serialised (encodeView) in a private field:
 * JSON.stringify and a spread copy see only the score's own fields. A WeakMap from score to JSON
 * did the same, but the collector revisits every entry of a WeakMap as an ephemeron, and tens of
 * thousands of scores are in flight to the sinks at a time. Ingestion probe (400k events, one
 * pipeline process), two sets of 4-5 interleaved rounds: the consumer's CPU per event at the
 * median 29.3 and 29.9 µs with the map, 26.9 and 28.1 with the JSON on the score from its making
 * (a symbol property in the first set, this private field in the second; 40.9k and 39.2k → 43.3k
 * and 41.5k events/s); a property added once the JSON is made (a non-enumerable symbol) gave 27.8
 * in the first set, the object growing a second store for it. A score is never changed once made:
 * its JSON would no longer be its own.
 */
class PipelineScore implements RiskScoreView {
  #json: string | undefined = undefined;
  /** The event time in ms, as the contract parsed it (eventTime is its text). */
  readonly #time: number;

  constructor(
    readonly customerId: string,
    readonly eventId: string,
    readonly score: number,
    readonly band: Band,
    readonly factors: RiskFactor[],
    readonly eventTime: string,
    readonly computedAt: string,
    readonly modelVersion: string,
    time: number,
  ) {
    this.#time = time;
  }

  static encode(view: RiskScoreView): string {
    if (!(#json in view)) return JSON.stringify(view);
    view.#json ??= JSON.stringify(view);
    return view.#json;
  }

  static eventMs(view: RiskScoreView): number {
    return #time in view ? view.#time : Date.parse(view.eventTime);
  }
}

/** The score of a transaction as it travels, from the model's assessment of it. */
export function scoreView(tx: Transaction, { score, band, factors }: Assessment, computedAt: string): RiskScoreView {
  return new PipelineScore(
    tx.customerId,
    tx.eventId,
    score,
    band,
    factors,
    // Producers stamp events in the canonical form already: kept, not parsed and formatted again.
    isCanonical(tx.timestamp) ? tx.timestamp : new Date(tx.time).toISOString(),
    computedAt,
    MODEL_VERSION,
    tx.time,
  );
}

/** The pub/sub channel every gateway process listens on for `riskScoreUpdated`. */
export const SCORES_CHANNEL = 'risk:scores';

export const latestKey = (prefix: string, customerId: string) => `${prefix}risk:latest:${customerId}`;

/**
 * The JSON of a score, computed once however many outputs carry it (Redis, the risk-scores
 * topic, pub/sub, the Postgres history): the pipeline serialises each of its scores once (any
 * other score, read back from a store, is serialised as it is asked for).
 */
export const encodeView: (view: RiskScoreView) => string = PipelineScore.encode;

/** The JSON of a score's factors: the part of its JSON (encodeView) that holds them, not serialised again. */
export function factorsJson(view: RiskScoreView): string {
  const json = encodeView(view);
  // Keys in scoreView's order; inside a JSON string a quote is escaped, so these are the keys.
  const from = json.indexOf(FACTORS_KEY) + FACTORS_KEY.length;
  const to = json.lastIndexOf(AFTER_FACTORS);
  // A score made elsewhere, with its keys in another order, has its factors serialised on their own.
  return from >= FACTORS_KEY.length && to > from ? json.slice(from, to) : JSON.stringify(view.factors);
}

const FACTORS_KEY = '"factors":';
const AFTER_FACTORS = ',"eventTime":"';

/**
 * A JSON array of scores, byte for byte what JSON.stringify(views) gives, from their cached JSON.
 * With `traceparentOf` (the pub/sub announcement of traced scores), a score whose trace goes on
 * carries one more property, `traceparent` (W3C trace context), which the receiver removes.
 */
export function encodeViews(views: RiskScoreView[], traceparentOf?: (view: RiskScoreView) => string | undefined): string {
  let out = '[';
  for (let i = 0; i < views.length; i++) {
    const json = encodeView(views[i]);
    const traceparent = traceparentOf?.(views[i]);
    out += (i ? ',' : '') + (traceparent ? `${json.slice(0, -1)},"traceparent":${JSON.stringify(traceparent)}}` : json);
  }
  return `${out}]`;
}

/** A score's event time in ms: kept from the event on the pipeline's scores, parsed from `eventTime` on others. */
export const eventTimeMs: (view: RiskScoreView) => number = PipelineScore.eventMs;

/** Digits of encodeLatest's time prefix. */
export const LATEST_TIME_DIGITS = 13;

/**
 * Redis value of the latest score: the event time in ms, zero-padded to 13 digits, then the
 * JSON. The fixed-width prefix lets a Lua script keep the newest by plain string comparison (SET_ONE_IF_NEWER).
 */
export function encodeLatest(view: RiskScoreView): string {
  return `${String(eventTimeMs(view)).padStart(LATEST_TIME_DIGITS, '0')}${encodeView(view)}`;
}

/** encodeLatest's time prefix written into `into` at `at`, digit by digit (no string made: the risk consumer writes one per score); answers where it ends. */
export function writeLatestTime(view: RiskScoreView, into: Buffer, at: number): number {
  // Events are of the years 2000-2099 (the contract): 13 digits, the first 0 before 2001-09.
  let ms = eventTimeMs(view);
  for (let digit = at + LATEST_TIME_DIGITS - 1; digit >= at; digit--) {
    into[digit] = 48 + (ms % 10);
    ms = Math.floor(ms / 10);
  }
  return at + LATEST_TIME_DIGITS;
}

export function decodeLatest(value: string): RiskScoreView {
  return JSON.parse(value.slice(LATEST_TIME_DIGITS)) as RiskScoreView;
}

/** The ranking of customers by their latest score (a sorted set: member customer id, score the risk score), for `topRisks`. */
export const rankingKey = (prefix: string) => `${prefix}risk:top`;

/**
 * The hash that says who writes a partition's latest scores: `token`, raised by each consumer that
 * takes the partition over, and `written`, the offset up to which the latest scores are written.
 */
export const latestClaimKey = (prefix: string, groupId: string, topic: string, partition: number) => `${prefix}risk:claim:${groupId}:${topic}:${partition}`;

/** KEYS[1] the claim: takes it over (older owners' writes are refused from now on); returns the new token and `written`. */
export const CLAIM_LATEST = `
local token = redis.call('HINCRBY', KEYS[1], 'token', 1)
return {token, redis.call('HGET', KEYS[1], 'written') or '0'}`;

/**
 * In a Redis Cluster, where the keys of one script must share a slot: KEYS[1] a customer's
 * latest-score key, ARGV[1] the encoded score; sets it unless it holds a newer event's score, and
 * returns 1 when set.
 */
export const SET_ONE_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if (not current) or string.sub(current, 1, 13) <= string.sub(ARGV[1], 1, 13) then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0`;
