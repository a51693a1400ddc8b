import type { Sql } from '../../db/sql';
import type { KafkaRecord } from '../../kafka/record-producer';
import type { Logger } from '../../ops/logger';
import type { DlqReason } from '../contract';
import type { OperatorMetrics } from './operator-metrics';
import type { DlqRecord } from './outputs';
import type { RawMessage } from './processor';
import type { QualityWindow } from './quality';
import { stateChunk, type Rewrite } from './rewrite';
import { jsonStates } from './state-codec';
import { PartitionedOperator, type HeldPartition } from './partitioned-operator';
import { commitCheckpoint, StateSnapshot } from './store';

export type OperatorInput<E> = { ok: true; key: string; event: E } | { ok: false; reason: DlqReason; detail: string };

/** Where an event was read from: operators that write downstream carry it along for de-duplication there. */
export interface SourcePosition {
  partition: number;
  offset: number;
}

/**
 * One stream operator on the streaming core: how a record becomes an event (or a DLQ entry),
 * the keyed state an event folds into, and what a changed key shows downstream. States must be
 * JSON-safe and `apply` deterministic: a crash goes back to the last checkpoint and applies what
 * followed again, and the sinks keep each key's output by its version (newest wins), so the
 * replayed outputs replace identical ones.
 */
export interface KeyedOperator<S, E, V extends OperatorView = OperatorView> {
  /** The data product (catalog slug) whose figures the operator computes; also its metrics label. */
  product: string;
  /** Loads what decoding the batch needs (Avro writer schemas), once per batch. */
  prepare?(messages: RawMessage[], from: number): Promise<void>;
  decode(message: RawMessage): OperatorInput<E>;
  init(): S;
  /** Folds one event into its key's state; false when it changed nothing (a duplicate). `emit` writes records downstream (a repartition). */
  apply(state: S, event: E, source: SourcePosition, emit: (record: KafkaRecord) => void): boolean;
  /** The event's time (epoch ms), for the product's freshness figure. */
  timeOf?(event: E): number;
  /** What the key shows after the batch (one per changed key and batch), or nothing for an operator that only forwards. */
  view?(key: string, state: S): V;
}

/** A key's output: its version only grows (readers and sinks keep the highest). */
export interface OperatorView {
  key: string;
  version: number;
  [field: string]: unknown;
}

/** One batch's effects, all idempotent: sent before the offset moves, and again after a crash. */
export interface OperatorBatch {
  views: OperatorView[];
  /** Records for the operator's downstream topic, in order. */
  records: KafkaRecord[];
  dlq: DlqRecord[];
}

export interface OperatorSinks {
  write(batch: OperatorBatch): Promise<void>;
  /** Live announcements of views the sinks hold (best effort). */
  announce(views: OperatorView[]): Promise<void>;
}

export interface KeyedPipelineOptions<S, E> {
  operator: KeyedOperator<S, E, OperatorView>;
  sql: Sql;
  sinks: OperatorSinks;
  metrics: OperatorMetrics;
  quality?: QualityWindow;
  logger: Logger;
  groupId: string;
  owner: string;
  initialOffset?: (topic: string, partition: number) => Promise<number>;
  /** As the risk pipeline's (RISK_CHECKPOINT_INTERVAL_MS / RISK_CHECKPOINT_EVENTS; 0: after every batch). */
  checkpointIntervalMs: number;
  checkpointEvents: number;
}

export type KeyedBatchResult = { kind: 'done'; nextOffset: number } | { kind: 'seek'; offset: number } | { kind: 'fenced'; offset: number };

interface Counts {
  applied: number;
  duplicates: number;
  dlq: Map<string, number>;
}

const noCounts = (): Counts => ({ applied: 0, duplicates: 0, dlq: new Map() });

interface PartitionState<S> extends HeldPartition<S> {
  rewrite?: Rewrite;
  counts: Counts;
}

/**
 * The streaming core for any keyed operator, on the risk pipeline's machinery: per partition the
 * keyed states in memory, loaded from the last checkpoint (consumer_checkpoints and
 * risk_state_chunks under the operator's own consumer group); per batch: decode (refused records
 * to the DLQ), apply in partition order, then the sinks, awaited; every interval a copy-on-write
 * checkpoint of the changed states and the offset, in one transaction with a compare-and-set on
 * the offset (a consumer that lost the partition writes nothing). Unlike the risk pipeline it
 * does not score ahead of its sinks: a batch's sinks return before the next batch of the
 * partition, which keeps what an operator writes downstream in offset order (the repartition's
 * de-duplication relies on it).
 */
export class KeyedPipeline<S, E> extends PartitionedOperator<S, PartitionState<S>> {
  constructor(private readonly options: KeyedPipelineOptions<S, E>) {
    super(options, jsonStates<S>());
  }

  protected async loadPartition(topic: string, partition: number): Promise<PartitionState<S>> {
    return { ...(await this.restore(topic, partition)), counts: noCounts() };
  }

  processBatch(topic: string, partition: number, messages: RawMessage[]): Promise<KeyedBatchResult> {
    return this.batch(topic, partition, () => this.runBatch(topic, partition, messages));
  }

  private async runBatch(topic: string, partition: number, messages: RawMessage[]): Promise<KeyedBatchResult> {
    try {
      let ps = await this.partition(topic, partition);
      if (ps.lost) {
        this.options.logger.warn({ topic, partition, reason: ps.lost }, 'checkpoint moved or failed under this operator; reloading the partition');
        await ps.checkpointing;
        this.forget(topic, partition);
        ps = await this.partition(topic, partition);
        ps.positioned = true;
        return { kind: 'fenced', offset: ps.nextOffset };
      }
      if (messages.length === 0) return { kind: 'done', nextOffset: ps.nextOffset };
      if (!ps.positioned) {
        ps.positioned = true;
        if (Number(messages[0].offset) !== ps.nextOffset) return { kind: 'seek', offset: ps.nextOffset };
      }
      let start = 0;
      while (start < messages.length && Number(messages[start].offset) < ps.nextOffset) start++;
      if (start < messages.length) await this.process(topic, partition, ps, messages, start);
      return { kind: 'done', nextOffset: ps.nextOffset };
    } catch (error) {
      // The in-memory states may be ahead of what the sinks hold: go back to the checkpoint.
      this.forget(topic, partition);
      throw error;
    }
  }

  private async process(topic: string, partition: number, ps: PartitionState<S>, messages: RawMessage[], start: number): Promise<void> {
    const { operator, sinks, metrics, quality } = this.options;
    const started = performance.now();
    await operator.prepare?.(messages, start);
    const records: KafkaRecord[] = [];
    const emit = (record: KafkaRecord) => void records.push(record);
    const dlq: DlqRecord[] = [];
    const touched = new Set<string>();
    let applied = 0;
    let duplicates = 0;
    const times: number[] = [];
    for (let i = start; i < messages.length; i++) {
      const message = messages[i];
      const input = operator.decode(message);
      if (!input.ok) {
        dlq.push({ ...input, key: message.key, value: message.value, topic, partition, offset: message.offset, timestamp: message.timestamp });
        continue;
      }
      let state = ps.states.get(input.key);
      if (state === undefined) ps.states.set(input.key, (state = operator.init()));
      ps.snapshot?.beforeChange(input.key);
      if (operator.apply(state, input.event, { partition, offset: Number(message.offset) }, emit)) {
        applied++;
        touched.add(input.key);
        if (quality && operator.timeOf) times.push(operator.timeOf(input.event));
      } else duplicates++;
    }
    const views: OperatorView[] = [];
    if (operator.view) for (const key of touched) views.push(operator.view(key, ps.states.get(key)!));
    await sinks.write({ views, records, dlq });
    if (views.length) sinks.announce(views).catch((error) => this.options.logger.warn({ err: error }, 'could not announce updates to live subscribers'));

    ps.nextOffset = Number(messages[messages.length - 1].offset) + 1;
    for (const key of touched) ps.changed.add(key);
    ps.counts.applied += applied;
    ps.counts.duplicates += duplicates;
    for (const record of dlq) ps.counts.dlq.set(record.reason, (ps.counts.dlq.get(record.reason) ?? 0) + 1);
    metrics.batchDuration.observe({ operator: operator.product }, (performance.now() - started) / 1000);
    if (quality) {
      quality.record({ events: messages.length - start, invalid: dlq.length, accepted: applied, scored: applied });
      const now = Date.now();
      for (const time of times) quality.latency(now - time);
    }
    if (this.due(ps, Date.now())) {
      const checkpoint = this.checkpoint(topic, partition, ps);
      if (this.options.checkpointIntervalMs === 0) await checkpoint;
    }
  }

  /** Taken now (the states at `nextOffset`, whose sinks have returned), serialised and written in the background. */
  protected checkpoint(topic: string, partition: number, ps: PartitionState<S>): Promise<void> {
    if (ps.checkpointing) return ps.checkpointing;
    const { keys, supersedes } = stateChunk(ps);
    const snapshot = (ps.snapshot = new StateSnapshot<S>(keys, ps.states, this.codec));
    const taken = { topic, partition, fromOffset: BigInt(ps.checkpointOffset), toOffset: BigInt(ps.nextOffset), supersedes, latest: null };
    const counts = ps.counts;
    ps.changed.clear();
    ps.counts = noCounts();
    ps.checkpointedAt = Date.now();
    // The sinks of every batch returned before its offset moved (see processBatch): nothing more to wait for.
    return commitCheckpoint(ps, snapshot, taken, Promise.resolve(), this.options, () => this.count(counts));
  }

  /** Event counts once their checkpoint is written, so events applied again after a crash count once. */
  private count({ applied, duplicates, dlq }: Counts): void {
    const { metrics, operator } = this.options;
    const operatorLabel = operator.product;
    if (applied) metrics.events.inc({ operator: operatorLabel, outcome: 'applied' }, applied);
    if (duplicates) metrics.events.inc({ operator: operatorLabel, outcome: 'duplicate' }, duplicates);
    for (const [reason, n] of dlq) {
      metrics.events.inc({ operator: operatorLabel, outcome: 'invalid' }, n);
      metrics.dlq.inc({ operator: operatorLabel, reason }, n);
    }
  }
}
