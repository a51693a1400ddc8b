import type { Context, Span } from '@opentelemetry/api';
import type { Logger } from '../../ops/logger';
import { sampledContextOf, tracing, withSpan } from '../../ops/tracing';
import type { AvroTransactionReader } from '../avro';
import { decodeTransaction } from '../contract';
import { MAX_RETAINED_EVENTS, RETAIN_MS } from '../model/parameters';
import { assess, duplicateStatus } from '../model/score';
import { newCustomerState, type CustomerState, type Transaction } from '../model/types';
import { endScoreSpans, traceScore } from '../tracing';
import { scoreView, type RiskScoreView } from '../view';
import type { RiskMetrics } from './metrics';
import { GroupCommit } from './group-commit';
import { LatestClaimLost, type DlqRecord, type LatestClaim, type RiskOutputs } from './outputs';
import type { QualityWindow } from './quality';
import { stateChunk, type Rewrite } from './rewrite';
import { customerStates } from './state-codec';
import { PartitionedOperator, type HeldPartition } from './partitioned-operator';
import { commitCheckpoint, encodeLatestRows, findScored, scoreRow, StateSnapshot, type HistoryResult, type ScoreRow } from './store';
import type { Sql } from '../../db/sql';

/** One record of a partition, as Kafka (or the in-process feed) delivers it. */
export interface RawMessage {
  offset: string;
  key: Buffer | string | null;
  value: Buffer | null;
  timestamp?: string;
  /** Kafka record headers; a sampled W3C `traceparent` among them makes the event traced. */
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
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
  /** Reads Confluent-framed Avro events (their writer schemas from the registry); without it they go to the DLQ. */
  avro?: AvroTransactionReader;
  /** `replay` overwrites history rows instead of keeping the first, and reports differences. */
  mode: 'live' | 'replay';
  /** Store Kafka partition and offset with each score (false for the in-process feed). */
  provenance: boolean;
  /** Replay: write history only for events at or after this event time (state is still built from everything). */
  historyFrom?: number;
  /** Where a partition new to the group starts (default 0: the beginning of the log). */
  initialOffset?: (topic: string, partition: number) => Promise<number>;
  /**
   * A partition's customer states and offset are checkpointed together once this long has passed
   * since its last checkpoint, or once this many events have gone to the sinks since (0: after
   * every batch). Between checkpoints the states live in memory only; a restart goes back to the
   * last checkpoint and scores what followed again (the sinks are idempotent).
   */
  checkpointIntervalMs: number;
  checkpointEvents: number;
  /** How long a scored batch may wait for others to share its round of sinks (history, risk-scores topic, DLQ). */
  sinkLingerMs: number;
  /** Each checkpoint writes each customer's newest score since the last one to latest_risk_scores. */
  checkpointLatest: boolean;
  /**
   * The sinks of a batch failed after it was scored (a live run with a backlog scores ahead of
   * them): the caller fetches again from the partition's last checkpoint, whose first batch then
   * reloads it. Without a new fetch the events of the failed sinks would wait for the next event.
   */
  onSinksFailed?: (topic: string, partition: number, checkpointOffset: number) => void;
}

export type BatchResult =
  /** Processed; the partition's next offset. */
  | { kind: 'done'; nextOffset: number; scored: number; duplicates: number; invalid: number; restored: number; changed: number }
  /** The batch does not start where the checkpoint says: seek there and drop this batch. */
  | { kind: 'seek'; offset: number }
  /** Another consumer moved the checkpoint: nothing was written; the state was reloaded; seek there. */
  | { kind: 'fenced'; offset: number };

/** What metrics count once it is checkpointed (so a batch scored again after a crash counts once). */
interface Counts {
  scored: number;
  duplicates: number;
  late: number;
  dlq: Map<string, number>;
}

/**
 * Batches of one partition whose sinks may be under way at once while the next ones are scored;
 * half of them waiting start a round at once, so the other half can be scored meanwhile.
 */
const SINKS_IN_FLIGHT = 8;
/** A partition this many events behind (a backlog) scores ahead of its sinks. */
const OVERLAP_BACKLOG = 2_000;

/** Spreads any number of partitions evenly over an interval. */
const GOLDEN = 0.6180339887;

const noCounts = (): Counts => ({ scored: 0, duplicates: 0, late: 0, dlq: new Map() });

/** A scored batch, as its sinks' callbacks need it. */
interface SunkBatch {
  views: RiskScoreView[];
  /** Event times of the accepted events (duplicates included). */
  times: number[];
  /** Records in the batch, accepted or not. */
  events: number;
  invalid: number;
  scored: number;
  duplicates: number;
  /** performance.now() when the batch started. */
  started: number;
  traced: Span[];
}

/** Whose sinks they are: the partition a failure loses. */
interface SinkOwner {
  topic: string;
  partition: number;
  ps: PartitionState;
}

interface PartitionState extends HeldPartition<CustomerState> {
  /** Since the last checkpoint: each changed customer's newest score. */
  newest: Map<string, RiskScoreView>;
  /** The rolling rewrite of the states (see stateChunk). */
  rewrite?: Rewrite;
  /** This consumer's claim on the partition's latest scores (null: none needed). */
  claim: LatestClaim | null;
  counts: Counts;
  /** Sinks of this partition's batches still under way, oldest first (live runs go on scoring meanwhile). */
  sinking: Array<Promise<unknown>>;
}

/**
 * The stream operator, after Flink and Kafka Streams: per partition, the customer states in
 * memory (loaded from the last checkpoint when the partition arrives), and for each batch:
 * validate, de-duplicate, score in order, then the sinks (history, latest scores, the risk-scores
 * topic, the DLQ), which are idempotent. Every second or so (`checkpointIntervalMs`) the states
 * that changed and the offset move together, in one transaction guarded by a compare-and-set on
 * the offset. A crash goes back to the last checkpoint and scores what followed again: the same
 * scores (the model is deterministic), which the sinks keep once. Postgres is the source of truth
 * for where a partition stands; Kafka's committed offsets are informational. The Kafka consumer
 * and the embedded in-process feed both drive this same code.
 */
export class RiskPipeline extends PartitionedOperator<CustomerState, PartitionState> {
  private readonly committer: GroupCommit;

  constructor(private readonly options: PipelineOptions) {
    super(options, customerStates);
    const { sql, outputs, mode } = options;
    // Only a live run with checkpoints in between goes on while its sinks are written; the others
    // wait for each batch's sinks, so a wait for more batches would only slow them down.
    const lingerMs = mode === 'live' && options.checkpointIntervalMs > 0 ? options.sinkLingerMs : 0;
    this.committer = new GroupCommit({ sql, outputs, mode, lingerMs, maxWaiting: SINKS_IN_FLIGHT / 2 });
  }

  protected async loadPartition(topic: string, partition: number): Promise<PartitionState> {
    const restored = await this.restore(topic, partition);
    const claim = await this.options.outputs.claimLatest(this.options.groupId, topic, partition);
    const state: PartitionState = {
      ...restored,
      // Partitions loaded together would all be due in the same turn, serialising their states
      // at once (a pause every interval): their first checkpoints are spread over the interval.
      checkpointedAt: restored.checkpointedAt - this.options.checkpointIntervalMs * ((partition * GOLDEN) % 1),
      newest: new Map(),
      counts: noCounts(),
      sinking: [],
      claim,
    };
    this.options.logger.debug({ topic, partition, nextOffset: state.nextOffset, customers: state.states.size }, 'partition state loaded');
    return state;
  }

  /** `behind`: how many events the partition holds after this batch (its lag), as far as the caller knows. */
  processBatch(topic: string, partition: number, messages: RawMessage[], behind = 0): Promise<BatchResult> {
    return this.batch(topic, partition, () => this.runBatch(topic, partition, messages, behind));
  }

  private async runBatch(topic: string, partition: number, messages: RawMessage[], behind: number): Promise<BatchResult> {
    try {
      let ps = await this.partition(topic, partition);
      if (ps.lost) {
        this.options.logger.warn(
          { topic, partition, reason: ps.lost },
          ps.lost === 'fenced' ? 'checkpoint moved under this consumer (fenced); reloading the partition' : 'checkpoint failed; going back to the last one',
        );
        this.forget(topic, partition);
        ps = await this.partition(topic, partition);
        ps.positioned = true;
        return { kind: 'fenced', offset: ps.nextOffset };
      }
      const none = { kind: 'done', nextOffset: ps.nextOffset, scored: 0, duplicates: 0, invalid: 0, restored: 0, changed: 0 } as const;
      if (messages.length === 0) return none;
      if (!ps.positioned) {
        ps.positioned = true;
        if (Number(messages[0].offset) !== ps.nextOffset) return { kind: 'seek', offset: ps.nextOffset };
      }
      let start = 0;
      while (start < messages.length && Number(messages[start].offset) < ps.nextOffset) start++;
      if (start === messages.length) return none;
      return await this.process(topic, partition, ps, messages, start, performance.now(), behind);
    } catch (error) {
      // The in-memory states may be ahead of what the sinks hold: go back to the checkpoint.
      const ps = this.forget(topic, partition);
      // Another consumer claimed the partition: it is not taken back (its next batch would, if this consumer still owns it).
      if (error instanceof LatestClaimLost && ps) return { kind: 'fenced', offset: ps.checkpointOffset };
      throw error;
    }
  }

  /**
   * Takes the partition's checkpoint now (its sinks hold everything up to `nextOffset`) and writes
   * it in the background, the way Flink snapshots asynchronously: batches go on meanwhile. The
   * states are those at `nextOffset` (a copy-on-write snapshot, serialised a slice at a time).
   */
  protected checkpoint(topic: string, partition: number, ps: PartitionState): Promise<void> {
    if (ps.checkpointing) return ps.checkpointing;
    // A sink failed after its batch was scored: the memory is ahead of what the sinks hold.
    if (ps.lost) return Promise.resolve();
    const { keys: customers, supersedes } = stateChunk(ps);
    const snapshot = (ps.snapshot = new StateSnapshot(customers, ps.states, this.codec));
    const latest = this.options.checkpointLatest ? encodeLatestRows(ps.newest.values()) : null;
    const taken = { topic, partition, fromOffset: BigInt(ps.checkpointOffset), toOffset: BigInt(ps.nextOffset), supersedes, latest };
    const counts = ps.counts;
    ps.changed.clear();
    ps.newest.clear();
    ps.counts = noCounts();
    ps.checkpointedAt = Date.now();
    return commitCheckpoint(ps, snapshot, taken, Promise.all(ps.sinking), this.options, () => this.count(counts));
  }

  /** Event counts, once the checkpoint that covers them is written (so events scored again count once). */
  private count({ scored, duplicates, late, dlq }: Counts): void {
    const { metrics } = this.options;
    if (scored) metrics.eventsIn.inc({ outcome: 'scored' }, scored);
    if (duplicates) metrics.eventsIn.inc({ outcome: 'duplicate' }, duplicates);
    for (const [reason, n] of dlq) {
      metrics.eventsIn.inc({ outcome: 'invalid' }, n);
      metrics.dlq.inc({ reason }, n);
    }
    if (late) metrics.late.inc(late);
  }

  private async process(
    topic: string,
    partition: number,
    ps: PartitionState,
    messages: RawMessage[],
    start: number,
    started: number,
    behind: number,
  ): Promise<BatchResult> {
    const { options } = this;
    const { mode } = options;

    // 1. Validate. Writer schemas of Avro events not seen yet first: one query, and only for a batch that has some.
    if (options.avro) await options.avro.prepare(messages, start);
    const accepted: Transaction[] = [];
    /** The accepted events' times, for the latency metrics once the sinks return (the events themselves need not live that long). */
    const times: number[] = [];
    const offsets: number[] = [];
    const dlq: DlqRecord[] = [];
    /** Traced events (by index in `accepted`): their producers' contexts. */
    let parents: Map<number, Context> | undefined;
    for (let i = start; i < messages.length; i++) {
      const message = messages[i];
      const decoded = decodeTransaction(message.value, message.key, options.maxEventBytes, options.avro);
      if (decoded.ok) {
        const parent = tracing.on ? sampledContextOf(message.headers) : undefined;
        if (parent) (parents ??= new Map()).set(accepted.length, parent);
        accepted.push(decoded.tx);
        times.push(decoded.tx.time);
        offsets.push(Number(message.offset));
      } else
        dlq.push({
          key: message.key,
          value: message.value,
          reason: decoded.reason,
          detail: decoded.detail,
          topic,
          partition,
          offset: message.offset,
          timestamp: message.timestamp,
        });
    }

    // 2. De-duplication, slow path: events older than what a customer's state can tell apart
    //    are looked up in the history, once for the whole batch (normally none are).
    const candidates = this.beyondHorizon(ps.states, accepted);
    // An earlier copy may be in a batch whose sinks are still under way: let them land first.
    if (candidates.length && ps.sinking.length) await Promise.allSettled(ps.sinking);
    const scoredBefore = candidates.length ? await findScored(options.sql, candidates) : undefined;
    const seenInBatch = candidates.length ? new Set<string>() : undefined;

    // 3. Score, in partition order.
    const computedAt = new Date().toISOString();
    // Latest scores up to here were written before (by this partition's earlier owner, or before a crash).
    const latestFrom = ps.claim?.writtenFrom ?? 0;
    const scores: ScoreRow[] = [];
    const views: RiskScoreView[] = [];
    const latest = new Map<string, RiskScoreView>();
    const touched = new Set<string>();
    const traced: Span[] = [];
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
      ps.snapshot?.beforeChange(tx.customerId);
      const result = assess(state, tx);
      touched.add(tx.customerId);
      counted++;
      if (result.late) late++;
      if (options.historyFrom !== undefined && tx.time < options.historyFrom) continue;
      const view = scoreView(tx, result, computedAt);
      views.push(view);
      const parent = parents?.get(i);
      if (parent) traced.push(traceScore(view, parent, { topic, partition, offset: offsets[i] }));
      scores.push(scoreRow(view, tx, options.provenance ? { partition, offset: offsets[i] } : null));
      if (result.newest && offsets[i] >= latestFrom) latest.set(tx.customerId, view);
    }

    // 4. The sinks (at least once, idempotent). The latest scores (what `riskScore` reads) are
    //    written at once, batch by batch; the history, the risk-scores topic and the DLQ go in
    //    rounds shared with the other partitions' batches that are ready at the same time
    //    (GroupCommit). A live run does not wait for those rounds: it goes on scoring the next
    //    batches while they are written (at most SINKS_IN_FLIGHT batches a partition, which
    //    then share a round), so a slow Postgres commit delays the history, not the next fetch
    //    or the scores readers see. The state moves on in memory, and a checkpoint taken
    //    meanwhile is written only once every sink it covers has returned; a sink that fails
    //    loses the partition, whose next batch goes back to the last checkpoint. Caught up, a
    //    batch waits for its latest scores (one Redis round trip); behind by OVERLAP_BACKLOG
    //    events or more, not even for them. Replays and the embedded feed (a checkpoint after
    //    every batch) wait for everything.
    const background = mode === 'live' && options.checkpointIntervalMs > 0;
    const overlap = background && behind >= OVERLAP_BACKLOG;
    if (background && ps.sinking.length >= SINKS_IN_FLIGHT) await ps.sinking[0].catch(() => undefined);
    // The sinks' own spans (Postgres, Redis) join the trace of the batch's first traced event.
    const nextOffset = Number(messages[messages.length - 1].offset) + 1;
    const newest = [...latest.values()];
    const latestWritten = withSpan(traced[0], () => options.outputs.writeLatest(newest, ps.claim, nextOffset));
    const sinking = withSpan(traced[0], () => this.committer.commit({ topic, partition, history: scores, outputs: { scores: views, dlq } }));
    this.track(ps, Promise.all([latestWritten, sinking]));
    const batch: SunkBatch = { views, times, events: messages.length - start, invalid: dlq.length, scored: counted, duplicates, started, traced };
    const sunk = this.whenSunk(sinking, batch, background ? { topic, partition, ps } : undefined);
    let history = { restored: 0, changed: 0 };
    if (!background) [history] = await Promise.all([sunk, latestWritten]);
    else if (overlap) this.loseIfFails(latestWritten, { topic, partition, ps });
    // A failure throws: the partition goes back to the last checkpoint (processBatch).
    else await latestWritten;
    ps.nextOffset = nextOffset;
    for (const customerId of touched) ps.changed.add(customerId);
    if (options.checkpointLatest) for (const [customerId, view] of latest) ps.newest.set(customerId, view);
    const counts = ps.counts;
    counts.scored += counted;
    counts.duplicates += duplicates;
    counts.late += late;
    for (const record of dlq) counts.dlq.set(record.reason, (counts.dlq.get(record.reason) ?? 0) + 1);
    if (this.due(ps, Date.now())) {
      const checkpoint = this.checkpoint(topic, partition, ps);
      // Without a delay between checkpoints, each batch waits for its own (the embedded feed, replays).
      if (options.checkpointIntervalMs === 0) await checkpoint;
    }
    return { kind: 'done', nextOffset: ps.nextOffset, scored: counted, duplicates, invalid: dlq.length, restored: history.restored, changed: history.changed };
  }

  /** A batch's sinks, under way until they settle (a checkpoint waits for the ones it covers). */
  private track(ps: PartitionState, sink: Promise<unknown>): void {
    ps.sinking.push(sink);
    const settled = () => ps.sinking.splice(ps.sinking.indexOf(sink), 1);
    sink.then(settled, settled);
  }

  /**
   * What follows a batch's sinks. Made here, not in `process`, so that the callbacks, alive until
   * the sinks return (hundreds of milliseconds under a backlog), hold only `batch`: a closure in
   * `process` would keep all of its scope alive (the fetched messages, the decoded events), and
   * every young-generation collection meanwhile would copy them.
   * `background`: a failure loses the partition instead of failing the batch.
   */
  private whenSunk(sinking: Promise<HistoryResult>, batch: SunkBatch, background: SinkOwner | undefined): Promise<HistoryResult> {
    return sinking.then(
      (history) => {
        this.sunk(batch);
        return history;
      },
      (error: unknown) => {
        endScoreSpans(batch.traced, error);
        if (!background) throw error;
        this.lose(background, error);
        return { restored: 0, changed: 0 };
      },
    );
  }

  private loseIfFails(written: Promise<unknown>, owner: SinkOwner): void {
    written.catch((error: unknown) => this.lose(owner, error));
  }

  private lose({ topic, partition, ps }: SinkOwner, error: unknown): void {
    this.options.logger.error({ err: error, topic, partition }, 'a sink of a scored batch failed; going back to the last checkpoint');
    ps.lost = error instanceof LatestClaimLost ? 'fenced' : 'failed';
    this.options.onSinksFailed?.(topic, partition, ps.checkpointOffset);
  }

  /**
   * A batch's sinks returned: account for what they now hold (event counts wait for the
   * checkpoint), then announce the scores to live subscribers (best effort, not awaited: the next
   * batch need not wait for it, and pub/sub keeps the order of one connection).
   */
  private sunk({ views, times, events, invalid, scored, duplicates, started, traced }: SunkBatch): void {
    const { metrics, mode, quality, outputs, logger } = this.options;
    const now = Date.now();
    metrics.scoresOut.inc(views.length);
    metrics.batchSize.observe(events);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
    if (mode === 'live') {
      for (const time of times) {
        const ms = now - time;
        metrics.latency.observe(ms / 1000);
        quality?.latency(ms);
      }
    }
    quality?.record({ events, invalid, accepted: times.length - duplicates, scored });
    if (views.length) {
      withSpan(traced[0], () => outputs.afterCommit(views)).then(
        () => endScoreSpans(traced),
        (error) => {
          endScoreSpans(traced, error);
          logger.warn({ err: error }, 'could not announce scores to live subscribers');
        },
      );
    }
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
