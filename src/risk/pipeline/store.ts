import type { Database } from '../../db/client';
import type { CustomerState } from '../model/types';
import { encodeView, encodeViews, type RiskScoreView } from '../view';

/** The two queries the pipeline needs, on pg's pool or the embedded PGlite alike. */
export interface Sql {
  /** `name` makes it a prepared statement on Postgres (planned once per connection, not per batch). */
  query<R>(text: string, params?: unknown[], name?: string): Promise<R[]>;
}

export function sqlOf(db: Database): Sql {
  if (db.kind === 'postgres') return { query: async (text, params, name) => (await db.pool.query(name ? { name, text, values: params } : { text, values: params })).rows };
  return { query: async <R>(text: string, params?: unknown[]) => (await db.pglite.query<R>(text, params)).rows };
}

/** What the history (risk_scores) keeps besides the score: the scored transaction and its Kafka provenance. */
export interface ScoreDetails {
  merchantId: string;
  mcc: string;
  amount: string;
  currency: string;
  country: string;
  channel: string;
  deviceId: string;
  partition: number | null;
  offset: number | null;
}

/** One score row of the history: the score as it travels (serialised once, see encodeView) plus its details. */
export interface ScoreRow {
  view: RiskScoreView;
  details: ScoreDetails;
}

/** The rows as one JSON array: each score's cached JSON with its details appended, no second serialisation of the score. */
function encodeScoreRows(rows: ScoreRow[]): string {
  let out = '[';
  for (let i = 0; i < rows.length; i++) {
    const view = encodeView(rows[i].view);
    out += `${i ? ',' : ''}${view.slice(0, -1)},${JSON.stringify(rows[i].details).slice(1)}`;
  }
  return `${out}]`;
}

export interface StateRow {
  customer_id: string;
  state: CustomerState;
  last_event_time: string;
  event_count: number;
}

export interface PartitionSnapshot {
  nextOffset: bigint;
  states: Map<string, CustomerState>;
}

/**
 * The partition's checkpoint (created at `initialOffset` if the group never owned it) and every
 * customer state stored with it.
 */
export async function loadPartition(sql: Sql, groupId: string, topic: string, partition: number, initialOffset: bigint, owner: string): Promise<PartitionSnapshot> {
  await sql.query(
    `INSERT INTO consumer_checkpoints (group_id, topic, partition, next_offset, owner) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [groupId, topic, partition, initialOffset.toString(), owner],
  );
  const [checkpoint] = await sql.query<{ next_offset: string }>(
    `SELECT next_offset::text AS next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = $3`,
    [groupId, topic, partition],
  );
  const rows = await sql.query<{ customer_id: string; state: CustomerState | string }>(
    `SELECT customer_id, state FROM customer_risk_states WHERE group_id = $1 AND topic = $2 AND partition = $3`,
    [groupId, topic, partition],
  );
  const states = new Map<string, CustomerState>();
  for (const row of rows) states.set(row.customer_id, typeof row.state === 'string' ? JSON.parse(row.state) : row.state);
  return { nextOffset: BigInt(checkpoint.next_offset), states };
}

export async function readCheckpoint(sql: Sql, groupId: string, topic: string, partition: number): Promise<bigint | undefined> {
  const [row] = await sql.query<{ next_offset: string }>(
    `SELECT next_offset::text AS next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = $3`,
    [groupId, topic, partition],
  );
  return row ? BigInt(row.next_offset) : undefined;
}

/** Where earlier copies of these events were scored from (the slow path of de-duplication). */
export async function findScored(sql: Sql, eventIds: string[]): Promise<Map<string, { partition: number | null; offset: string | null }>> {
  const rows = await sql.query<{ event_id: string; partition: number | null; offset: string | null }>(
    `SELECT event_id, partition, "offset"::text AS "offset" FROM risk_scores WHERE event_id IN (SELECT jsonb_array_elements_text($1::jsonb))`,
    [JSON.stringify(eventIds)],
  );
  return new Map(rows.map((row) => [row.event_id, { partition: row.partition, offset: row.offset }]));
}

export interface CommitBatch {
  groupId: string;
  topic: string;
  partition: number;
  /** The checkpoint this batch started from (compare-and-set) and the one it moves to. */
  fromOffset: bigint;
  toOffset: bigint;
  owner: string;
  states: StateRow[];
  scores: ScoreRow[];
  /** The newest score of each customer the batch made newer. */
  latest: RiskScoreView[];
  /** Replays overwrite history rows and count how many differed; live runs keep the first. */
  mode: 'live' | 'replay';
}

export interface CommitResult {
  /** False when the checkpoint had moved: another consumer owns the partition now, nothing was written. */
  committed: boolean;
  /** Replay only: history rows that were missing, and rows whose score, band or factors differed. */
  restored: number;
  changed: number;
}

// The keys of RiskScoreView (camelCase, as serialised once for every output) and of ScoreDetails.
const VIEW_COLUMNS = `"eventId" text, "customerId" text, score int, band text, factors jsonb, "modelVersion" text, "eventTime" timestamptz, "computedAt" timestamptz`;
const SCORE_COLUMNS = `${VIEW_COLUMNS}, "merchantId" text, mcc text, amount text, currency text, country text, channel text, "deviceId" text, partition int, "offset" bigint`;

const LIVE_SCORES = `ON CONFLICT (event_id) DO NOTHING`;
const REPLAY_SCORES = `ON CONFLICT (event_id) DO UPDATE SET customer_id = excluded.customer_id, score = excluded.score, band = excluded.band,
  factors = excluded.factors, model_version = excluded.model_version, event_time = excluded.event_time, computed_at = excluded.computed_at,
  partition = excluded.partition, "offset" = excluded."offset"`;

function commitStatement(mode: 'live' | 'replay'): string {
  return `
WITH cp AS (
  UPDATE consumer_checkpoints SET next_offset = $5::bigint, owner = $6, updated_at = now()
  WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $4::bigint
  RETURNING 1
), incoming AS (
  SELECT * FROM jsonb_to_recordset($8::jsonb) AS x(${SCORE_COLUMNS})
), diff AS (
  SELECT count(*) FILTER (WHERE r.event_id IS NULL)::int AS restored,
         count(*) FILTER (WHERE r.event_id IS NOT NULL AND (r.score <> x.score OR r.band::text <> x.band OR r.factors <> x.factors))::int AS changed
  FROM incoming x LEFT JOIN risk_scores r ON r.event_id = x."eventId"
  WHERE $10::boolean
), states AS (
  INSERT INTO customer_risk_states AS s (group_id, customer_id, topic, partition, state, last_event_time, event_count, updated_at)
  SELECT $1, x.customer_id, $2, $3, x.state, x.last_event_time, x.event_count, now()
  FROM jsonb_to_recordset($7::jsonb) AS x(customer_id text, state jsonb, last_event_time timestamptz, event_count int)
  WHERE EXISTS (SELECT 1 FROM cp)
  ON CONFLICT (group_id, customer_id) DO UPDATE SET state = excluded.state, last_event_time = excluded.last_event_time,
    event_count = excluded.event_count, topic = excluded.topic, partition = excluded.partition, updated_at = excluded.updated_at
), scores AS (
  INSERT INTO risk_scores (event_id, customer_id, score, band, factors, model_version, event_time, computed_at,
    merchant_id, mcc, amount, currency, country, channel, device_id, partition, "offset")
  SELECT x."eventId", x."customerId", x.score, x.band::"RiskBand", x.factors, x."modelVersion", x."eventTime", x."computedAt",
    x."merchantId", x.mcc, x.amount::numeric, x.currency, x.country, x.channel::"TransactionChannel", x."deviceId", x.partition, x."offset"
  FROM incoming x
  WHERE EXISTS (SELECT 1 FROM cp)
  ${mode === 'live' ? LIVE_SCORES : REPLAY_SCORES}
), latest AS (
  INSERT INTO latest_risk_scores AS l (customer_id, event_id, score, band, factors, model_version, event_time, computed_at)
  SELECT x."customerId", x."eventId", x.score, x.band::"RiskBand", x.factors, x."modelVersion", x."eventTime", x."computedAt"
  FROM jsonb_to_recordset($9::jsonb) AS x(${VIEW_COLUMNS})
  WHERE EXISTS (SELECT 1 FROM cp)
  ON CONFLICT (customer_id) DO UPDATE SET event_id = excluded.event_id, score = excluded.score, band = excluded.band, factors = excluded.factors,
    model_version = excluded.model_version, event_time = excluded.event_time, computed_at = excluded.computed_at
  WHERE l.event_time <= excluded.event_time
)
SELECT (SELECT count(*) FROM cp)::int AS committed, coalesce((SELECT restored FROM diff), 0) AS restored, coalesce((SELECT changed FROM diff), 0) AS changed`;
}

const STATEMENTS = { live: commitStatement('live'), replay: commitStatement('replay') };

/**
 * The batch's effects in one statement, hence one transaction: the checkpoint moves from
 * `fromOffset` to `toOffset` only if it is still at `fromOffset`, and the states, scores and
 * latest scores are written only if it moved. One round trip per batch.
 */
export async function commitBatch(sql: Sql, batch: CommitBatch): Promise<CommitResult> {
  const [row] = await sql.query<{ committed: number; restored: number; changed: number }>(STATEMENTS[batch.mode], [
    batch.groupId,
    batch.topic,
    batch.partition,
    batch.fromOffset.toString(),
    batch.toOffset.toString(),
    batch.owner,
    JSON.stringify(batch.states),
    encodeScoreRows(batch.scores),
    encodeViews(batch.latest),
    batch.mode === 'replay',
  ], `tollgraph-risk-commit-${batch.mode}`);
  return { committed: row.committed === 1, restored: row.restored, changed: row.changed };
}
