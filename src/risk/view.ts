import type { Band, RiskFactor } from './model/types';

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

/** A JSON array of scores, byte for byte what JSON.stringify(views) gives, from their cached JSON. */
export function encodeViews(views: RiskScoreView[]): string {
  let out = '[';
  for (let i = 0; i < views.length; i++) out += (i ? ',' : '') + encodeView(views[i]);
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

/** Sets each key unless it already holds a score of a newer event. */
export const SET_IF_NEWER = `
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  if (not current) or string.sub(current, 1, 13) <= string.sub(ARGV[i], 1, 13) then
    redis.call('SET', KEYS[i], ARGV[i])
  end
end
return #KEYS`;
