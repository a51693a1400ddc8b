import type { AnalyticsEngine } from './engine';
import { archiveTable } from './sources';

type Settings = Parameters<typeof archiveTable>[0];

/** What fraud rates can be grouped by: a period (hour or day) and the transaction's dimensions. */
export const FRAUD_GROUPINGS = ['hour', 'day', 'mcc', 'country', 'channel'] as const;
export type FraudGrouping = (typeof FRAUD_GROUPINGS)[number];
/** The groups the CLI has always printed. */
export const DEFAULT_FRAUD_GROUPING: readonly FraudGrouping[] = ['hour', 'mcc', 'country'];

export interface QueryOptions {
  /** fraud-rates only: the columns to group by (validated by src/analytics/request.ts). */
  groupBy?: readonly FraudGrouping[];
  /** At most this many rows (bound as the `limit` parameter); unset: all. */
  limited?: boolean;
}

/** A question analytics answers over a time window [from, to) of event times. */
export interface AnalyticsQuery {
  description: string;
  sql(config: Settings, options?: QueryOptions): string;
}

const window = (column: string) => `${column} >= {from:DateTime64(3, 'UTC')} AND ${column} < {to:DateTime64(3, 'UTC')}`;
/** Scores once per event (a redelivered score is on the topic, and so in the archive, twice). */
const scores = (config: Settings) =>
  `SELECT event_id, band, event_time FROM ${archiveTable(config, 'risk-scores')} WHERE event_id IS NOT NULL AND ${window('event_time')} LIMIT 1 BY event_id`;
/** The tail every query ends with: the optional row limit, then UTC for the formatted times. */
const tail = (options: QueryOptions) => `${options.limited ? ' LIMIT {limit:UInt32}' : ''} SETTINGS session_timezone = 'UTC'`;

const GROUPING_COLUMNS: Record<FraudGrouping, string> = {
  hour: `formatDateTime(toStartOfHour(t.event_time), '%Y-%m-%dT%H:00:00Z') AS hour`,
  day: `formatDateTime(toStartOfDay(t.event_time), '%Y-%m-%dT00:00:00Z') AS day`,
  mcc: 't.mcc AS mcc',
  country: 't.country AS country',
  channel: 't.channel AS channel',
};

/** The questions of issue 18, in ClickHouse SQL over the archive's Parquet (the same SQL runs on a ClickHouse server). */
export const ANALYTICS_QUERIES = {
  'fraud-rates': {
    description: 'transactions by hour, merchant category and country: how many, the share the model put in HIGH or CRITICAL, the amount in EUR',
    sql: (config, options = {}) => {
      const groups = options.groupBy ?? DEFAULT_FRAUD_GROUPING;
      // Grouping by nothing is one row for the whole window.
      const by = groups.length ? ` GROUP BY ${groups.join(', ')} ORDER BY ${groups.join(', ')}` : '';
      return `
WITH t AS (SELECT event_id, mcc, country, channel, event_time, amount_eur FROM ${archiveTable(config, 'transactions')} WHERE dlq_reason IS NULL AND ${window('event_time')} LIMIT 1 BY event_id),
     s AS (${scores(config)})
SELECT ${groups.map((group) => `${GROUPING_COLUMNS[group]}, `).join('')}
       toUInt32(count()) AS transactions, toUInt32(countIf(s.band IN ('HIGH', 'CRITICAL'))) AS high_risk,
       round(high_risk / transactions, 4) AS high_risk_share, round(sum(t.amount_eur), 2) AS amount_eur
FROM t INNER JOIN s USING (event_id)${by}${tail(options)}`;
    },
  },
  'scores-by-band': {
    description: 'scores by hour and band',
    sql: (config, options = {}) => `
SELECT formatDateTime(toStartOfHour(event_time), '%Y-%m-%dT%H:00:00Z') AS hour, band, toUInt32(count()) AS scores
FROM (${scores(config)}) GROUP BY hour, band ORDER BY hour, band${tail(options)}`,
  },
  'usage-by-account': {
    description: 'usage by account and operation: requests (and live events) and cost units',
    sql: (config, options = {}) => `
SELECT account_id, operation, toUInt32(count()) AS requests, toUInt32(sum(cost_units)) AS cost_units
FROM (SELECT account_id, operation, cost_units FROM ${archiveTable(config, 'usage')} WHERE ${window('occurred_at')} LIMIT 1 BY request_id)
GROUP BY account_id, operation ORDER BY account_id, operation${tail(options)}`,
  },
} satisfies Record<string, AnalyticsQuery>;

export type AnalyticsQueryName = keyof typeof ANALYTICS_QUERIES;

/** A time as the queries' DateTime64(3, 'UTC') parameters take it. */
export const clickhouseTime = (time: number) => new Date(time).toISOString().replace('T', ' ').replace('Z', '');

export function isAnalyticsQuery(name: string): name is AnalyticsQueryName {
  return Object.hasOwn(ANALYTICS_QUERIES, name);
}

/** ClickHouse's refusal to read a dataset that has no objects: it takes a table's columns from one of its files. */
const NOTHING_ARCHIVED = /Code: 636\b[\s\S]*no files/;

/**
 * A question's rows from the archive. A dataset nothing was archived to yet (a new deployment, a
 * prefix of its own) answers no rows, as an empty table would, not the engine's refusal: each
 * question reads one dataset or joins two (INNER), so one empty dataset empties the answer.
 */
export async function askArchive<Row>(engine: AnalyticsEngine, sql: string, params: Record<string, string | number>): Promise<Row[]> {
  try {
    return await engine.query<Row>(sql, params);
  } catch (error) {
    if (error instanceof Error && NOTHING_ARCHIVED.test(error.message)) return [];
    throw error;
  }
}
