import type { Sql } from '../../db/sql';
import type { CustomerState } from '../model/types';
import { encodeView, type RiskScoreView } from '../view';

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
  /** The customer's newest score of the batch, newer than what it had: it also goes to latest_risk_scores. */
  latest: boolean;
}

/**
 * Appends the rows of batch `b` to a JSON array under construction: each score's cached JSON
 * with its details, its batch and its latest flag appended, no second serialisation of the score.
 */
function appendScoreRows(out: string, rows: ScoreRow[], b: number): string {
  for (const row of rows) {
    const view = encodeView(row.view);
    out += `${out.length > 1 ? ',' : ''}${view.slice(0, -1)},${JSON.stringify(row.details).slice(1, -1)},"b":${b},"latest":${row.latest}}`;
  }
  return out;
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

/** One partition's batch, as it goes into a group commit. */
export interface PartitionCommit {
  topic: string;
  partition: number;
  /** The checkpoint this batch started from (compare-and-set) and the one it moves to. */
  fromOffset: bigint;
  toOffset: bigint;
  states: StateRow[];
  /** The history rows; those flagged `latest` also go to latest_risk_scores. */
  scores: ScoreRow[];
}

export interface CommitGroup {
  groupId: string;
  owner: string;
  /** Replays overwrite history rows and count how many differed; live runs keep the first. */
  mode: 'live' | 'replay';
  /** At most one batch per partition (each one's compare-and-set starts from the checkpoint as it is now). */
  batches: PartitionCommit[];
}

export interface CommitResult {
  /** False when the checkpoint had moved: another consumer owns the partition now, nothing of this batch was written. */
  committed: boolean;
  /** Replay only: history rows that were missing, and rows whose score, band or factors differed. */
  restored: number;
  changed: number;
}

// The keys of RiskScoreView (camelCase, as serialised once for every output) and of ScoreDetails.
const VIEW_COLUMNS = `"eventId" text, "customerId" text, score int, band text, factors jsonb, "modelVersion" text, "eventTime" timestamptz, "computedAt" timestamptz`;
const SCORE_COLUMNS = `b int, latest boolean, ${VIEW_COLUMNS}, "merchantId" text, mcc text, amount text, currency text, country text, channel text, "deviceId" text, partition int, "offset" bigint`;

const LIVE_SCORES = `ON CONFLICT (event_id) DO NOTHING`;
const REPLAY_SCORES = `ON CONFLICT (event_id) DO UPDATE SET customer_id = excluded.customer_id, score = excluded.score, band = excluded.band,
  factors = excluded.factors, model_version = excluded.model_version, event_time = excluded.event_time, computed_at = excluded.computed_at,
  partition = excluded.partition, "offset" = excluded."offset"`;

// json_to_recordset, not jsonb_to_recordset: the rows are read once, so building the binary
// jsonb of the whole array first is wasted work (only `factors` and `state` are stored as jsonb).
// Every row carries `b`, the index of its batch; a batch's rows are written only if its own
// checkpoint moved (cp returns the batches whose compare-and-set succeeded).
function commitStatement(mode: 'live' | 'replay'): string {
  return `
WITH batches AS (
  SELECT * FROM json_to_recordset($2::json) AS p(b int, topic text, partition int, from_offset bigint, to_offset bigint)
), cp AS (
  UPDATE consumer_checkpoints c SET next_offset = p.to_offset, owner = $3, updated_at = now()
  FROM batches p
  WHERE c.group_id = $1 AND c.topic = p.topic AND c.partition = p.partition AND c.next_offset = p.from_offset
  RETURNING p.b, p.topic, p.partition
), incoming AS (
  SELECT * FROM json_to_recordset($5::json) AS x(${SCORE_COLUMNS})
), diff AS (
  SELECT x.b, count(*) FILTER (WHERE r.event_id IS NULL)::int AS restored,
         count(*) FILTER (WHERE r.event_id IS NOT NULL AND (r.score <> x.score OR r.band::text <> x.band OR r.factors <> x.factors))::int AS changed
  FROM incoming x LEFT JOIN risk_scores r ON r.event_id = x."eventId"
  WHERE $6::boolean
  GROUP BY x.b
), states AS (
  INSERT INTO customer_risk_states AS s (group_id, customer_id, topic, partition, state, last_event_time, event_count, updated_at)
  SELECT $1, x.customer_id, cp.topic, cp.partition, x.state, x.last_event_time, x.event_count, now()
  FROM json_to_recordset($4::json) AS x(b int, customer_id text, state jsonb, last_event_time timestamptz, event_count int)
  JOIN cp ON cp.b = x.b
  ON CONFLICT (group_id, customer_id) DO UPDATE SET state = excluded.state, last_event_time = excluded.last_event_time,
    event_count = excluded.event_count, topic = excluded.topic, partition = excluded.partition, updated_at = excluded.updated_at
), scores AS (
  INSERT INTO risk_scores (event_id, customer_id, score, band, factors, model_version, event_time, computed_at,
    merchant_id, mcc, amount, currency, country, channel, device_id, partition, "offset")
  SELECT x."eventId", x."customerId", x.score, x.band::"RiskBand", x.factors, x."modelVersion", x."eventTime", x."computedAt",
    x."merchantId", x.mcc, x.amount::numeric, x.currency, x.country, x.channel::"TransactionChannel", x."deviceId", x.partition, x."offset"
  FROM incoming x
  WHERE x.b IN (SELECT b FROM cp)
  ${mode === 'live' ? LIVE_SCORES : REPLAY_SCORES}
), latest AS (
  INSERT INTO latest_risk_scores AS l (customer_id, event_id, score, band, factors, model_version, event_time, computed_at)
  SELECT x."customerId", x."eventId", x.score, x.band::"RiskBand", x.factors, x."modelVersion", x."eventTime", x."computedAt"
  FROM incoming x
  WHERE x.latest AND x.b IN (SELECT b FROM cp)
  ON CONFLICT (customer_id) DO UPDATE SET event_id = excluded.event_id, score = excluded.score, band = excluded.band, factors = excluded.factors,
    model_version = excluded.model_version, event_time = excluded.event_time, computed_at = excluded.computed_at
  WHERE l.event_time <= excluded.event_time
)
SELECT p.b, EXISTS (SELECT 1 FROM cp WHERE cp.b = p.b) AS committed, coalesce(d.restored, 0) AS restored, coalesce(d.changed, 0) AS changed
FROM batches p LEFT JOIN diff d ON d.b = p.b
ORDER BY p.b`;
}

const STATEMENTS = { live: commitStatement('live'), replay: commitStatement('replay') };

/**
 * The effects of several partitions' batches in one statement, hence one transaction and one
 * round trip: each batch's checkpoint moves from `fromOffset` to `toOffset` only if it is still at
 * `fromOffset`, and that batch's states, scores and latest scores are written only if it moved.
 * Results are in the order of `group.batches`.
 */
export async function commitBatches(sql: Sql, group: CommitGroup): Promise<CommitResult[]> {
  const partitions: Array<{ b: number; topic: string; partition: number; from_offset: string; to_offset: string }> = [];
  const states: Array<StateRow & { b: number }> = [];
  let scores = '[';
  group.batches.forEach((batch, b) => {
    partitions.push({ b, topic: batch.topic, partition: batch.partition, from_offset: batch.fromOffset.toString(), to_offset: batch.toOffset.toString() });
    for (const row of batch.states) states.push({ ...row, b });
    scores = appendScoreRows(scores, batch.scores, b);
  });
  const rows = await sql.query<{ b: number; committed: boolean; restored: number; changed: number }>(
    STATEMENTS[group.mode],
    [group.groupId, JSON.stringify(partitions), group.owner, JSON.stringify(states), `${scores}]`, group.mode === 'replay'],
    `tollgraph-risk-group-commit-${group.mode}`,
  );
  return rows.map((row) => ({ committed: row.committed, restored: row.restored, changed: row.changed }));
}
