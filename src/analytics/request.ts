import { badInput } from '../errors';
import { ANALYTICS_QUERIES, FRAUD_GROUPINGS, isAnalyticsQuery, type AnalyticsQueryName, type FraudGrouping } from './queries';

const DAY_MS = 86_400_000;
export const MAX_ANALYTICS_ROWS = 1_000;

/** One analytics question as the gateway asks it and the analytics worker answers it. */
export interface AnalyticsRequest {
  question: AnalyticsQueryName;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  groupBy?: FraudGrouping[];
  /** At most this many rows come back. */
  limit: number;
}

/** The analytics worker's one route: POST a request, get its rows. */
export const ANALYTICS_PATH = '/v1/query';

export interface AnalyticsAnswer {
  rows: Array<Record<string, unknown>>;
  /** More rows matched than the request's limit. */
  truncated: boolean;
}

const time = (value: unknown, field: string): number => {
  const at = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at)) throw badInput(`${field} must be a time`, { fields: [field] });
  return at;
};

/**
 * Checks a request before anything is read: a known question, a window of at most
 * `maxRangeDays` that ends after it starts, groupings the question knows (each once, one period
 * at most), a row limit. The gateway checks before calling the worker, the worker again (it is
 * an HTTP API of its own); both answer BAD_USER_INPUT naming the argument.
 */
export function checkAnalyticsRequest(input: Record<string, unknown>, maxRangeDays: number): AnalyticsRequest {
  const { question } = input;
  if (typeof question !== 'string' || !isAnalyticsQuery(question))
    throw badInput(`question must be one of ${Object.keys(ANALYTICS_QUERIES).join(', ')}`, { fields: ['question'] });
  const from = time(input.from, 'from');
  const to = time(input.to, 'to');
  if (to <= from) throw badInput('to must be after from', { fields: ['from', 'to'] });
  if (to - from > maxRangeDays * DAY_MS) throw badInput(`from and to may be at most ${maxRangeDays} days apart`, { fields: ['from', 'to'] });
  const limit = input.limit ?? MAX_ANALYTICS_ROWS;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_ANALYTICS_ROWS)
    throw badInput(`first must be between 1 and ${MAX_ANALYTICS_ROWS}`, { fields: ['first'] });
  const request: AnalyticsRequest = { question, from, to, limit };
  if (input.groupBy === undefined || input.groupBy === null) return request;
  if (question !== 'fraud-rates') throw badInput(`${question} takes no groupBy`, { fields: ['groupBy'] });
  const groupBy = input.groupBy;
  if (!Array.isArray(groupBy) || groupBy.some((group) => !(FRAUD_GROUPINGS as readonly unknown[]).includes(group)))
    throw badInput(`groupBy takes ${FRAUD_GROUPINGS.join(', ')}`, { fields: ['groupBy'] });
  if (new Set(groupBy).size !== groupBy.length) throw badInput('groupBy names a grouping twice', { fields: ['groupBy'] });
  if (groupBy.includes('hour') && groupBy.includes('day')) throw badInput('groupBy takes one period: hour or day', { fields: ['groupBy'] });
  return { ...request, groupBy: groupBy as FraudGrouping[] };
}
