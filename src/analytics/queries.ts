import { archiveTable } from './sources';

type Settings = Parameters<typeof archiveTable>[0];

/** A question analytics answers over a time window [from, to) of event times. */
export interface AnalyticsQuery {
  description: string;
  sql(config: Settings): string;
}

const window = (column: string) => `${column} >= {from:DateTime64(3, 'UTC')} AND ${column} < {to:DateTime64(3, 'UTC')}`;
/** Scores once per event (a redelivered score is on the topic, and so in the archive, twice). */
const scores = (config: Settings) =>
  `SELECT event_id, band, event_time FROM ${archiveTable(config, 'risk-scores')} WHERE event_id IS NOT NULL AND ${window('event_time')} LIMIT 1 BY event_id`;
const SETTINGS = `SETTINGS session_timezone = 'UTC'`;

/** The questions of issue 18, in ClickHouse SQL over the archive's Parquet (the same SQL runs on a ClickHouse server). */
export const ANALYTICS_QUERIES = {
  'fraud-rates': {
    description: 'transactions by hour, merchant category and country: how many, the share the model put in HIGH or CRITICAL, the amount in EUR',
    sql: (config) => `
WITH t AS (SELECT event_id, mcc, country, event_time, amount_eur FROM ${archiveTable(config, 'transactions')} WHERE dlq_reason IS NULL AND ${window('event_time')} LIMIT 1 BY event_id),
     s AS (${scores(config)})
SELECT formatDateTime(toStartOfHour(t.event_time), '%Y-%m-%dT%H:00:00Z') AS hour, t.mcc AS mcc, t.country AS country,
       toUInt32(count()) AS transactions, toUInt32(countIf(s.band IN ('HIGH', 'CRITICAL'))) AS high_risk,
       round(high_risk / transactions, 4) AS high_risk_share, round(sum(t.amount_eur), 2) AS amount_eur
FROM t INNER JOIN s USING (event_id)
GROUP BY hour, mcc, country ORDER BY hour, mcc, country ${SETTINGS}`,
  },
  'scores-by-band': {
    description: 'scores by hour and band',
    sql: (config) => `
SELECT formatDateTime(toStartOfHour(event_time), '%Y-%m-%dT%H:00:00Z') AS hour, band, toUInt32(count()) AS scores
FROM (${scores(config)}) GROUP BY hour, band ORDER BY hour, band ${SETTINGS}`,
  },
  'usage-by-account': {
    description: 'usage by account and operation: requests (and live events) and cost units',
    sql: (config) => `
SELECT account_id, operation, toUInt32(count()) AS requests, toUInt32(sum(cost_units)) AS cost_units
FROM (SELECT account_id, operation, cost_units FROM ${archiveTable(config, 'usage')} WHERE ${window('occurred_at')} LIMIT 1 BY request_id)
GROUP BY account_id, operation ORDER BY account_id, operation ${SETTINGS}`,
  },
} satisfies Record<string, AnalyticsQuery>;

export type AnalyticsQueryName = keyof typeof ANALYTICS_QUERIES;

/** A time as the queries' DateTime64(3, 'UTC') parameters take it. */
export const clickhouseTime = (time: number) => new Date(time).toISOString().replace('T', ' ').replace('Z', '');

export function isAnalyticsQuery(name: string): name is AnalyticsQueryName {
  return Object.hasOwn(ANALYTICS_QUERIES, name);
}
