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

/** The score of a transaction as it travels, from the model's assessment of it. */
export function scoreView(tx: Transaction, { score, band, factors }: Assessment, computedAt: string): RiskScoreView {
  return {
    customerId: tx.customerId,
    eventId: tx.eventId,
    score,
    band,
    factors,
    eventTime: new Date(tx.time).toISOString(),
    computedAt,
    modelVersion: MODEL_VERSION,
  };
}

/** The pub/sub channel every gateway process listens on for `riskScoreUpdated`. */
export const SCORES_CHANNEL = 'risk:scores';

export const latestKey = (prefix: string, customerId: string) => `${prefix}risk:latest:${customerId}`;

const encoded = new WeakMap<RiskScoreView, string>();

/**
 * The JSON of a score, computed once however many outputs carry it (Redis, the risk-scores
 * topic, pub/sub, the Postgres history): the pipeline serialises each score once.
 */
export function encodeView(view: RiskScoreView): string {
  let json = encoded.get(view);
  if (json === undefined) encoded.set(view, (json = JSON.stringify(view)));
  return json;
}

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

/**
 * Redis value of the latest score: the event time in ms, zero-padded to 13 digits, then the
 * JSON. The fixed-width prefix lets a Lua script keep the newest by plain string comparison.
 */
export function encodeLatest(view: RiskScoreView): string {
  return `${String(Date.parse(view.eventTime)).padStart(13, '0')}${encodeView(view)}`;
}

export function decodeLatest(value: string): RiskScoreView {
  return JSON.parse(value.slice(13)) as RiskScoreView;
}

/** The ranking of customers by their latest score (a sorted set: member customer id, score the risk score), for `topRisks`. */
export const rankingKey = (prefix: string) => `${prefix}risk:top`;

/** Lua: whether `next` (an encoded latest score) replaces `current` (a key's value, false when unset): unless it holds a newer event's score. */
const replaces = (current: string, next: string) => `(not ${current}) or string.sub(${current}, 1, 13) <= string.sub(${next}, 1, 13)`;

/**
 * KEYS[1] the ranking, KEYS[2..] the customers' latest-score keys; ARGV three per customer: the
 * encoded latest score, the risk score, the customer id. Sets each latest score unless the key
 * holds a score of a newer event, and ranks the customer by the score it set.
 */
export const SET_IF_NEWER = `
for i = 2, #KEYS do
  local j = (i - 2) * 3
  local current = redis.call('GET', KEYS[i])
  if ${replaces('current', 'ARGV[j + 1]')} then
    redis.call('SET', KEYS[i], ARGV[j + 1])
    redis.call('ZADD', KEYS[1], ARGV[j + 2], ARGV[j + 3])
  end
end
return #KEYS - 1`;

/**
 * SET_IF_NEWER for one customer and without the ranking (a Redis Cluster, where the keys of one
 * script must share a slot): KEYS[1] the latest-score key, ARGV[1] the encoded score; 1 when set.
 */
export const SET_ONE_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if ${replaces('current', 'ARGV[1]')} then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0`;
