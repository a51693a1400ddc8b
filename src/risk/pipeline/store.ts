import { COPY_NULL, copyText, type Sql } from '../../db/sql';
import type { Logger } from '../../ops/logger';
import type { CustomerState, Transaction } from '../model/types';
import { encodeView, factorsJson, type RiskScoreView } from '../view';
import { OffHeapBytes } from './off-heap';
import type { StateCodec, StoredChunk } from './state-codec';

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

/** The history row of a transaction's score; `at`: where it was read (null: provenance not kept). */
export function scoreRow(view: RiskScoreView, tx: Transaction, at: { partition: number; offset: number } | null): ScoreRow {
  return {
    view,
    details: {
      merchantId: tx.merchantId,
      mcc: tx.mcc,
      amount: tx.amount,
      currency: tx.currency,
      country: tx.country,
      channel: tx.channel,
      deviceId: tx.deviceId,
      partition: at ? at.partition : null,
      offset: at ? at.offset : null,
    },
  };
}

/**
 * Appends the rows of batch `b` to a JSON array under construction: each score's cached JSON
 * with its details and its batch appended, no second serialisation of the score.
 */
function appendScoreRows(out: string, rows: ScoreRow[], b: number): string {
  for (const row of rows) {
    const view = encodeView(row.view);
    out += `${out.length > 1 ? ',' : ''}${view.slice(0, -1)},${JSON.stringify(row.details).slice(1, -1)},"b":${b}}`;
  }
  return out;
}

/** A partition's keyed states (customer risk states by default; other operators keep their own, by their own key). */
export interface PartitionSnapshot<S = CustomerState> {
  nextOffset: bigint;
  states: Map<string, S>;
}

/** Chunks in `id` order: a later copy of a state replaces an earlier one (states are never removed). */
function foldChunks<S>(chunks: ChunkRow[], codec: StateCodec<S>): Map<string, S> {
  const into = new Map<string, S>();
  for (const chunk of chunks) {
    for (const [key, state] of codec.read(chunk.data ?? chunk.states!)) into.set(key, state);
  }
  return into;
}

/** A stored chunk: JSON text in `states`, or a codec's bytes in `data`. */
interface ChunkRow {
  states: string | null;
  data: Uint8Array | null;
}

/**
 * The partition's checkpoint (created at `initialOffset` if the group never owned it) and the
 * customer states stored with it: its chunks, in order.
 */
export async function loadPartition<S = CustomerState>(
  sql: Sql,
  groupId: string,
  topic: string,
  partition: number,
  initialOffset: bigint,
  owner: string,
  codec: StateCodec<S>,
): Promise<PartitionSnapshot<S>> {
  await sql.query(`INSERT INTO consumer_checkpoints (group_id, topic, partition, next_offset, owner) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [
    groupId,
    topic,
    partition,
    initialOffset.toString(),
    owner,
  ]);
  const [checkpoint] = await sql.query<{ next_offset: string }>(
    `SELECT next_offset::text AS next_offset FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = $3`,
    [groupId, topic, partition],
  );
  const chunks = await sql.query<ChunkRow>(`SELECT states, data FROM risk_state_chunks WHERE group_id = $1 AND topic = $2 AND partition = $3 ORDER BY id`, [
    groupId,
    topic,
    partition,
  ]);
  return { nextOffset: BigInt(checkpoint.next_offset), states: foldChunks(chunks, codec) };
}

/** Every state a group's checkpoints hold, across its partitions (tests and diagnostics). */
export async function loadGroupStates<S = CustomerState>(sql: Sql, groupId: string, codec: StateCodec<S>): Promise<Map<string, S>> {
  return foldChunks(await sql.query<ChunkRow>(`SELECT states, data FROM risk_state_chunks WHERE group_id = $1 ORDER BY id`, [groupId]), codec);
}

/** Forgets a group's checkpoints and states (a replay's scratch group, once it is done). */
export async function dropGroup(sql: Sql, groupId: string): Promise<void> {
  await sql.query(`DELETE FROM risk_state_chunks WHERE group_id = $1`, [groupId]);
  await sql.query(`DELETE FROM consumer_checkpoints WHERE group_id = $1`, [groupId]);
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

/** Where the history is written: live runs keep the first copy of a score; replays overwrite and count differences. */
export type HistoryMode = 'live' | 'replay';

/** What a replay found in the history it rewrote: rows that were missing, and rows whose score, band or factors differed. */
export interface HistoryResult {
  restored: number;
  changed: number;
}

// The keys of RiskScoreView (camelCase, as serialised once for every output) and of ScoreDetails.
const VIEW_COLUMNS = `"eventId" text, "customerId" text, score int, band text, factors json, "modelVersion" text, "eventTime" timestamptz, "computedAt" timestamptz`;
const SCORE_COLUMNS = `b int, ${VIEW_COLUMNS}, "merchantId" text, mcc text, amount text, currency text, country text, channel text, "deviceId" text, partition int, "offset" bigint`;

const LIVE_SCORES = `ON CONFLICT (event_id) DO NOTHING`;
const REPLAY_SCORES = `ON CONFLICT (event_id) DO UPDATE SET customer_id = excluded.customer_id, score = excluded.score, band = excluded.band,
  factors = excluded.factors, model_version = excluded.model_version, event_time = excluded.event_time, computed_at = excluded.computed_at,
  partition = excluded.partition, "offset" = excluded."offset"`;

// json_to_recordset, not jsonb_to_recordset: the rows are read once, so building the binary
// jsonb of the whole array first is wasted work.
function historyStatement(mode: HistoryMode): string {
  return `
WITH incoming AS (
  SELECT * FROM json_to_recordset($1::json) AS x(${SCORE_COLUMNS})
), diff AS (
  SELECT x.b, count(*) FILTER (WHERE r.event_id IS NULL)::int AS restored,
         count(*) FILTER (WHERE r.event_id IS NOT NULL AND (r.score <> x.score OR r.band::text <> x.band OR r.factors::jsonb <> x.factors::jsonb))::int AS changed
  FROM incoming x LEFT JOIN risk_scores r ON r.event_id = x."eventId"
  WHERE $2::boolean
  GROUP BY x.b
), scores AS (
  INSERT INTO risk_scores (event_id, customer_id, score, band, factors, model_version, event_time, computed_at,
    merchant_id, mcc, amount, currency, country, channel, device_id, partition, "offset")
  SELECT x."eventId", x."customerId", x.score, x.band::"RiskBand", x.factors, x."modelVersion", x."eventTime", x."computedAt",
    x."merchantId", x.mcc, x.amount::numeric, x.currency, x.country, x.channel::"TransactionChannel", x."deviceId", x.partition, x."offset"
  FROM incoming x
  ${mode === 'live' ? LIVE_SCORES : REPLAY_SCORES}
)
SELECT b, restored, changed FROM diff`;
}

const HISTORY = { live: historyStatement('live'), replay: historyStatement('replay') };

/**
 * Appends several batches' scores to the history (risk_scores), idempotently: a score is keyed by
 * its event id and is the same however often its event is scored again from the same checkpoint
 * (the model is deterministic), so live runs keep the first copy and a re-run after a crash adds
 * nothing. Not tied to the checkpoint: a sink that runs before it. Results in the order of
 * `batches` (counts only in replay mode).
 *
 * Live runs bulk-load with COPY, which has no ON CONFLICT: when a row is there already (the
 * batches after a restart, whose scores the sink wrote before the crash), Postgres refuses the
 * whole COPY and the same rows go through the idempotent INSERT instead, so a crash rewrites and
 * never duplicates, at the INSERT's cost for as long as the crash's batches take.
 */
export async function appendHistory(sql: Sql, batches: ScoreRow[][], mode: HistoryMode): Promise<HistoryResult[]> {
  const results = batches.map(() => ({ restored: 0, changed: 0 }));
  if (batches.every((batch) => batch.length === 0)) return results;
  if (mode === 'live') {
    const rows = copyRows(batches);
    try {
      await sql.copyIn(COPY_HISTORY, rows.bytes());
      // Only after a COPY that went through: a failed one may leave its bytes queued on the socket.
      rows.release();
      return results;
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
    }
  }
  let rows = '[';
  batches.forEach((batch, b) => {
    rows = appendScoreRows(rows, batch, b);
  });
  const counts = await sql.query<HistoryResult & { b: number }>(HISTORY[mode], [`${rows}]`, mode === 'replay'], `tollgraph-risk-history-${mode}`);
  for (const { b, restored, changed } of counts) results[b] = { restored, changed };
  return results;
}

const UNIQUE_VIOLATION = '23505';

const COPY_HISTORY = `COPY risk_scores (event_id, customer_id, score, band, factors, model_version, event_time, computed_at,
  merchant_id, mcc, amount, currency, country, channel, device_id, partition, "offset")`;

/**
 * The rows in COPY's text format, in COPY_HISTORY's column order, written outside V8's heap as they
 * are made (a round's text lives until Postgres has it: as one string it was copied by the
 * young-generation collections meanwhile, then once more into a Buffer for the socket). Only
 * free-form text is escaped: the event id, merchant category, amount, currency and country passed
 * the contract's patterns (src/risk/contract.ts), which admit no tab, newline or backslash.
 */
function copyRows(batches: ScoreRow[][]): OffHeapBytes {
  const rows = new OffHeapBytes(null);
  for (const batch of batches) {
    for (const { view, details: d } of batch) {
      rows.append(
        `${view.eventId}\t${copyText(view.customerId)}\t${view.score}\t${view.band}\t${copyText(factorsJson(view))}\t${copyText(view.modelVersion)}\t${view.eventTime}\t${view.computedAt}\t${copyText(d.merchantId)}\t${d.mcc}\t${d.amount}\t${d.currency}\t${d.country}\t${d.channel}\t${copyText(d.deviceId)}\t${d.partition ?? COPY_NULL}\t${d.offset ?? COPY_NULL}\n`,
      );
    }
  }
  return rows;
}

/**
 * One partition's checkpoint, serialised when it is taken (the states go on changing in memory
 * while it is written): the offset it moves to and what changed since the last one.
 */
export interface PartitionCheckpoint {
  topic: string;
  partition: number;
  /** The checkpoint as this consumer last wrote (or read) it (compare-and-set), and where it moves. */
  fromOffset: bigint;
  toOffset: bigint;
  /** The state chunk, as its codec stores it (null: nothing to write). */
  states: StoredChunk | null;
  /** Every state has a copy in the chunks from this offset on: the partition's older chunks are deleted. */
  supersedes: number | null;
  /** JSON array of RiskScoreView for latest_risk_scores, each customer's newest score since the last checkpoint (null: the latest scores live in Redis). */
  latest: string | null;
}

/** The longest a snapshot serialises in one turn of the event loop before letting batches run. */
const SLICE_MS = 2;

/**
 * A chunk of states taken at one offset and serialised a slice at a time, copy-on-write, as
 * Flink's heap state backend snapshots asynchronously: a state about to change is serialised
 * first (`beforeChange`), the others in slices of at most SLICE_MS between which batches go on.
 * Serialising a chunk at once held the event loop for 30-70 ms per partition and checkpoint on
 * the freshness benchmark (states grow to an hour of events each), which readers saw as the tail
 * of freshness. The result is the codec's chunk of the same states at that offset.
 */
export class StateSnapshot<S = CustomerState> {
  private readonly serialised: OffHeapBytes;

  constructor(
    private readonly pending: Set<string>,
    private readonly states: ReadonlyMap<string, S>,
    private readonly codec: StateCodec<S>,
  ) {
    this.serialised = codec.start();
  }

  beforeChange(customerId: string): void {
    if (this.pending.delete(customerId)) this.codec.append(this.serialised, customerId, this.states.get(customerId)!);
  }

  /** The chunk (null: nothing to write), once every state is serialised; none in the turn that took it. */
  async serialise(): Promise<StoredChunk | null> {
    while (this.pending.size > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      const until = performance.now() + SLICE_MS;
      for (const customerId of this.pending) {
        this.beforeChange(customerId);
        if (performance.now() >= until) break;
      }
    }
    return this.codec.finish(this.serialised);
  }
}

export function encodeLatestRows(latest: Iterable<RiskScoreView>): string {
  let views = '[';
  for (const view of latest) views += `${views.length > 1 ? ',' : ''}${encodeView(view)}`;
  return `${views}]`;
}

/**
 * A partition's checkpoint in one statement (one transaction): its offset moves from `fromOffset`
 * to `toOffset` only if it is still at `fromOffset`, and its state chunk (and the deletion of the
 * chunks it supersedes) and latest scores are written only if it moved. False: another consumer owns
 * the partition now; nothing was written.
 */
export async function writeCheckpoint(sql: Sql, groupId: string, owner: string, checkpoint: PartitionCheckpoint): Promise<boolean> {
  const { topic, partition, fromOffset, toOffset, states, supersedes, latest } = checkpoint;
  const [row] = await sql.query<{ committed: boolean }>(
    CHECKPOINT,
    [
      groupId,
      topic,
      partition,
      fromOffset.toString(),
      toOffset.toString(),
      owner,
      typeof states === 'string' ? states : null,
      supersedes,
      latest,
      states instanceof Uint8Array ? states : null,
    ],
    'tollgraph-risk-checkpoint',
  );
  return row.committed;
}

/** What checkpointing moves in a partition's in-memory state (the scorer's and the keyed operators'). */
export interface CheckpointedPartition<S> {
  checkpointOffset: number;
  checkpointing?: Promise<void>;
  snapshot?: StateSnapshot<S>;
  lost?: 'fenced' | 'failed';
}

/**
 * Writes a checkpoint taken now: once its chunk is serialised and `covered` (the sinks of every
 * batch up to `toOffset`) has resolved, the offset moves and `counted` runs, so events applied
 * again after a crash count once (Flink's checkpoint, which commits after the sinks flushed).
 * A checkpoint moved under this consumer loses the partition as fenced; a failure (of the write
 * or of a sink it covers) as failed: its next batch goes back to the last checkpoint.
 */
export function commitCheckpoint<S>(
  ps: CheckpointedPartition<S>,
  snapshot: StateSnapshot<S>,
  taken: Omit<PartitionCheckpoint, 'states'>,
  covered: Promise<unknown>,
  store: { sql: Sql; groupId: string; owner: string; logger: Logger },
  counted: () => void,
): Promise<void> {
  const serialised = snapshot.serialise().finally(() => {
    if (ps.snapshot === snapshot) ps.snapshot = undefined;
  });
  ps.checkpointing = Promise.all([serialised, covered])
    .then(([states]) => writeCheckpoint(store.sql, store.groupId, store.owner, { ...taken, states }))
    .then(
      (moved) => {
        if (!moved) ps.lost = 'fenced';
        else {
          ps.checkpointOffset = Number(taken.toOffset);
          counted();
        }
      },
      (error: unknown) => {
        store.logger.error({ err: error, topic: taken.topic, partition: taken.partition }, 'could not write the checkpoint (or a sink it covers failed)');
        ps.lost = 'failed';
      },
    )
    .finally(() => (ps.checkpointing = undefined));
  return ps.checkpointing;
}

const CHECKPOINT = `
WITH cp AS (
  UPDATE consumer_checkpoints SET next_offset = $5, owner = $6, updated_at = now()
  WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $4
  RETURNING 1
), superseded AS (
  DELETE FROM risk_state_chunks
  WHERE group_id = $1 AND topic = $2 AND partition = $3 AND to_offset < $8::bigint AND EXISTS (SELECT 1 FROM cp)
), chunk AS (
  INSERT INTO risk_state_chunks (group_id, topic, partition, to_offset, states, data)
  SELECT $1, $2, $3, $5, $7::text, $10::bytea FROM cp WHERE $7::text IS NOT NULL OR $10::bytea IS NOT NULL
), latest AS (
  INSERT INTO latest_risk_scores AS l (customer_id, event_id, score, band, factors, model_version, event_time, computed_at)
  SELECT x."customerId", x."eventId", x.score, x.band::"RiskBand", x.factors::jsonb, x."modelVersion", x."eventTime", x."computedAt"
  FROM json_to_recordset($9::json) AS x(${VIEW_COLUMNS}), cp
  ON CONFLICT (customer_id) DO UPDATE SET event_id = excluded.event_id, score = excluded.score, band = excluded.band, factors = excluded.factors,
    model_version = excluded.model_version, event_time = excluded.event_time, computed_at = excluded.computed_at
  WHERE l.event_time <= excluded.event_time
)
SELECT EXISTS (SELECT 1 FROM cp) AS committed`;
