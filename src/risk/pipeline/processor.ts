import type { Logger } from '../../ops/logger';
import { decodeTransaction } from '../contract';
import { MAX_RETAINED_EVENTS, MODEL_VERSION, RETAIN_MS } from '../model/parameters';
import { assess, duplicateStatus } from '../model/score';
import { newCustomerState, type CustomerState, type Transaction } from '../model/types';
import type { RiskScoreView } from '../view';
import type { RiskMetrics } from './metrics';
import { GroupCommit } from './group-commit';
import type { DlqRecord, RiskOutputs } from './outputs';
import type { QualityWindow } from './quality';
import { findScored, loadPartition, readCheckpoint, type ScoreRow, type StateRow } from './store';
import type { Sql } from '../../db/sql';

/** One record of a partition, as Kafka (or the in-process feed) delivers it. */
export interface RawMessage {
  offset: string;
  key: Buffer | string | null;
  value: Buffer | null;
  timestamp?: string;
}

export interface PipelineOptions {
  sql: Sql;
  outputs: RiskOutputs;
  metrics: RiskMetrics;
  quality?: QualityWindow;
  logger: Logger;
  /** Whose state and checkpoints these are (the consumer group; a replay uses a fresh one). */
  groupId: string;
  /** Written with each checkpoint, for diagnostics (the Kafka member id). */
  owner: string;
  maxEventBytes: number;
  /** `replay` overwrites history rows instead of keeping the first, and reports differences. */
  mode: 'live' | 'replay';
  /** Store Kafka partition and offset with each score (false for the in-process feed). */
  provenance: boolean;
  /** Replay: write history only for events at or after this event time (state is still built from everything). */
  historyFrom?: number;
  /** Where a partition new to the group starts (default 0: the beginning of the log). */
  initialOffset?: (topic: string, partition: number) => Promise<number>;
}

export type BatchResult =
  /** Processed; the partition's next offset. */
  | { kind: 'done'; nextOffset: number; scored: number; duplicates: number; invalid: number; restored: number; changed: number }
  /** The batch does not start where the checkpoint says: seek there and drop this batch. */
  | { kind: 'seek'; offset: number }
  /** Another consumer moved the checkpoint: nothing was written; the state was reloaded; seek there. */
  | { kind: 'fenced'; offset: number };

interface PartitionState {
  nextOffset: number;
  states: Map<string, CustomerState>;
  /** The consumer's fetch position was checked against the checkpoint. */
  positioned: boolean;
  /** After a rebalance: re-read the checkpoint before trusting the in-memory state. */
  verify: boolean;
}

/**
 * The stream operator: per partition, the customer states (loaded from Postgres when the
 * partition arrives), and for each batch: validate, de-duplicate, score in order, send the
 * outputs, then commit states + scores + next offset in one transaction guarded by a
 * compare-and-set on the offset. Postgres is the source of truth for where a partition stands;
 * Kafka's committed offsets are informational. The Kafka consumer and the embedded in-process
 * feed both drive this same code.
 */
export class RiskPipeline {
  private readonly partitions = new Map<string, PartitionState>();
  private readonly committer: GroupCommit;

  constructor(private readonly options: PipelineOptions) {
    const { sql, outputs, groupId, owner, mode } = options;
    this.committer = new GroupCommit({ sql, outputs, groupId, owner, mode });
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** After a rebalance: every partition re-checks its checkpoint before its next batch. */
  invalidate(): void {
    for (const partition of this.partitions.values()) partition.verify = true;
  }

  /** Forgets partitions this consumer no longer owns. */
  retain(owned: (topic: string, partition: number) => boolean): void {
    for (const key of [...this.partitions.keys()]) {
      const at = key.lastIndexOf(':');
      if (!owned(key.slice(0, at), Number(key.slice(at + 1)))) this.partitions.delete(key);
    }
  }

  /** The partition's next offset as this process knows it (undefined if not loaded). */
  position(topic: string, partition: number): number | undefined {
    return this.partitions.get(`${topic}:${partition}`)?.nextOffset;
  }

  /** Customer states of a loaded partition (tests and diagnostics). */
  statesOf(topic: string, partition: number): ReadonlyMap<string, CustomerState> | undefined {
    return this.partitions.get(`${topic}:${partition}`)?.states;
  }

  private async partition(topic: string, partition: number): Promise<PartitionState> {
    const key = `${topic}:${partition}`;
    const known = this.partitions.get(key);
    if (known && known.verify) {
      const stored = await readCheckpoint(this.options.sql, this.options.groupId, topic, partition);
      if (stored !== undefined && Number(stored) === known.nextOffset) {
        known.verify = false;
        return known;
      }
    } else if (known) return known;
    const { sql, groupId, owner } = this.options;
    const initial = this.options.initialOffset ? await this.options.initialOffset(topic, partition) : 0;
    const snapshot = await loadPartition(sql, groupId, topic, partition, BigInt(initial), owner);
    const state: PartitionState = { nextOffset: Number(snapshot.nextOffset), states: snapshot.states, positioned: false, verify: false };
    this.partitions.set(key, state);
    this.options.logger.debug({ topic, partition, nextOffset: state.nextOffset, customers: state.states.size }, 'partition state loaded');
    return state;
  }

  /** Loads the partition now (so a consumer can seek before its first batch). */
  async load(topic: string, partition: number): Promise<number> {
    return (await this.partition(topic, partition)).nextOffset;
  }

  async processBatch(topic: string, partition: number, messages: RawMessage[]): Promise<BatchResult> {
    const key = `${topic}:${partition}`;
    const ps = await this.partition(topic, partition);
    const none = { kind: 'done', nextOffset: ps.nextOffset, scored: 0, duplicates: 0, invalid: 0, restored: 0, changed: 0 } as const;
    if (messages.length === 0) return none;
    if (!ps.positioned) {
      ps.positioned = true;
      if (Number(messages[0].offset) !== ps.nextOffset) return { kind: 'seek', offset: ps.nextOffset };
    }
    let start = 0;
    while (start < messages.length && Number(messages[start].offset) < ps.nextOffset) start++;
    if (start === messages.length) return none;

    const started = performance.now();
    try {
      return await this.process(topic, partition, ps, messages, start, started);
    } catch (error) {
      // The in-memory states may hold effects that were never committed: reload before going on.
      this.partitions.delete(key);
      throw error;
    }
  }

  private async process(topic: string, partition: number, ps: PartitionState, messages: RawMessage[], start: number, started: number): Promise<BatchResult> {
    const { options } = this;
    const { metrics, mode } = options;

    // 1. Validate.
    const accepted: Transaction[] = [];
    const offsets: number[] = [];
    const dlq: DlqRecord[] = [];
    for (let i = start; i < messages.length; i++) {
      const message = messages[i];
      const decoded = decodeTransaction(message.value, message.key, options.maxEventBytes);
      if (decoded.ok) {
        accepted.push(decoded.tx);
        offsets.push(Number(message.offset));
      } else dlq.push({ key: message.key, value: message.value, reason: decoded.reason, detail: decoded.detail, topic, partition, offset: message.offset, timestamp: message.timestamp });
    }

    // 2. De-duplication, slow path: events older than what a customer's state can tell apart
    //    are looked up in the history, once for the whole batch (normally none are).
    const candidates = this.beyondHorizon(ps.states, accepted);
    const scoredBefore = candidates.length ? await findScored(options.sql, candidates) : undefined;
    const seenInBatch = candidates.length ? new Set<string>() : undefined;

    // 3. Score, in partition order.
    const computedAt = new Date().toISOString();
    const scores: ScoreRow[] = [];
    const views: RiskScoreView[] = [];
    const latest = new Map<string, ScoreRow>();
    const touched = new Set<string>();
    let duplicates = 0;
    let late = 0;
    let counted = 0;
    for (let i = 0; i < accepted.length; i++) {
      const tx = accepted[i];
      let state = ps.states.get(tx.customerId);
      if (!state) {
        state = newCustomerState();
        ps.states.set(tx.customerId, state);
      }
      const status = duplicateStatus(state, tx.eventId, tx.time);
      if (status === 'duplicate') {
        duplicates++;
        continue;
      }
      if (status === 'unknown') {
        const earlier = scoredBefore?.get(tx.eventId);
        const sameMessage = earlier !== undefined && options.provenance && earlier.partition === partition && earlier.offset === String(offsets[i]);
        if (seenInBatch?.has(tx.eventId) || (earlier !== undefined && !sameMessage)) {
          duplicates++;
          continue;
        }
        seenInBatch?.add(tx.eventId);
      }
      const result = assess(state, tx);
      touched.add(tx.customerId);
      counted++;
      if (result.late) late++;
      if (options.historyFrom !== undefined && tx.time < options.historyFrom) continue;
      const view: RiskScoreView = {
        customerId: tx.customerId,
        eventId: tx.eventId,
        score: result.score,
        band: result.band,
        factors: result.factors,
        eventTime: new Date(tx.time).toISOString(),
        computedAt,
        modelVersion: MODEL_VERSION,
      };
      views.push(view);
      const row: ScoreRow = {
        view,
        details: {
          merchantId: tx.merchantId,
          mcc: tx.mcc,
          amount: tx.amount,
          currency: tx.currency,
          country: tx.country,
          channel: tx.channel,
          deviceId: tx.deviceId,
          partition: options.provenance ? partition : null,
          offset: options.provenance ? offsets[i] : null,
        },
        latest: false,
      };
      scores.push(row);
      if (result.newest) latest.set(tx.customerId, row);
    }
    const latestViews: RiskScoreView[] = [];
    for (const row of latest.values()) {
      row.latest = true;
      latestViews.push(row.view);
    }

    // 4-5. Outputs that must not be lost go out before the commit (at least once, same
    //      content); then states + scores + latest + next offset in one transaction, with a
    //      compare-and-set on the offset. Both are shared with the other partitions' batches
    //      that are ready at the same time (GroupCommit).
    const states: StateRow[] = [];
    for (const customerId of touched) {
      const state = ps.states.get(customerId)!;
      states.push({ customer_id: customerId, state, last_event_time: new Date(state.last).toISOString(), event_count: state.n });
    }
    const toOffset = Number(messages[messages.length - 1].offset) + 1;
    const result = await this.committer.commit({
      commit: { topic, partition, fromOffset: BigInt(ps.nextOffset), toOffset: BigInt(toOffset), states, scores },
      outputs: { scores: views, latest: latestViews, dlq },
    });
    if (!result.committed) {
      this.partitions.delete(`${topic}:${partition}`);
      const reloaded = await this.partition(topic, partition);
      reloaded.positioned = true;
      options.logger.warn({ topic, partition, nextOffset: reloaded.nextOffset }, 'checkpoint moved under this consumer (fenced); reloaded the partition');
      return { kind: 'fenced', offset: reloaded.nextOffset };
    }
    ps.nextOffset = toOffset;

    // 6. Account.
    const committedAt = Date.now();
    metrics.eventsIn.inc({ outcome: 'scored' }, counted);
    if (duplicates) metrics.eventsIn.inc({ outcome: 'duplicate' }, duplicates);
    if (dlq.length) {
      metrics.eventsIn.inc({ outcome: 'invalid' }, dlq.length);
      for (const record of dlq) metrics.dlq.inc({ reason: record.reason });
    }
    if (late) metrics.late.inc(late);
    metrics.scoresOut.inc(views.length);
    metrics.batchSize.observe(messages.length - start);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
    if (mode === 'live') {
      for (const tx of accepted) {
        const ms = committedAt - tx.time;
        metrics.latency.observe(ms / 1000);
        options.quality?.latency(ms);
      }
    }
    options.quality?.record({ events: messages.length - start, invalid: dlq.length, accepted: accepted.length - duplicates, scored: counted });

    // 7. Announce to live subscribers (committed scores only; best effort, not awaited: the
    //    next batch need not wait for it, and pub/sub keeps the order of one connection).
    if (views.length) {
      options.outputs.afterCommit(views).catch((error) => options.logger.warn({ err: error }, 'could not announce scores to live subscribers'));
    }
    return { kind: 'done', nextOffset: toOffset, scored: counted, duplicates, invalid: dlq.length, restored: result.restored, changed: result.changed };
  }

  /**
   * Events whose time may be at or below their customer's dedupe horizon by the time they are
   * scored. Conservative: the horizon can only rise to the newest time in reach minus RETAIN_MS,
   * or anywhere when the customer's buffer may overflow.
   */
  private beyondHorizon(states: Map<string, CustomerState>, accepted: Transaction[]): string[] {
    if (accepted.length === 0) return [];
    let batchMax = -1;
    for (const tx of accepted) if (tx.time > batchMax) batchMax = tx.time;
    let perCustomer: Map<string, number> | undefined;
    const out: string[] = [];
    for (const tx of accepted) {
      const state = states.get(tx.customerId);
      const last = state ? Math.max(state.last, batchMax) : batchMax;
      const horizon = Math.max(state ? state.floor : -1, last - RETAIN_MS);
      let candidate = tx.time <= horizon;
      if (!candidate && state && state.t.length + accepted.length > MAX_RETAINED_EVENTS) {
        if (!perCustomer) {
          perCustomer = new Map();
          for (const other of accepted) perCustomer.set(other.customerId, (perCustomer.get(other.customerId) ?? 0) + 1);
        }
        candidate = state.t.length + perCustomer.get(tx.customerId)! > MAX_RETAINED_EVENTS;
      }
      if (candidate) out.push(tx.eventId);
    }
    return out;
  }
}
