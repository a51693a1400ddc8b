import type { BatchOutputs, DlqRecord, RiskOutputs } from './outputs';
import { appendHistory, type HistoryMode, type HistoryResult, type ScoreRow } from './store';
import type { Sql } from '../../db/sql';
import type { RiskScoreView } from '../view';

/** A scored batch on its way to the sinks. */
export interface PreparedBatch {
  topic: string;
  partition: number;
  /** History rows (risk_scores). */
  history: ScoreRow[];
  /** The risk-scores topic and the DLQ. */
  outputs: BatchOutputs;
}

interface Waiting {
  batch: PreparedBatch;
  resolve: (result: HistoryResult) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  sql: Sql;
  outputs: RiskOutputs;
  mode: HistoryMode;
  /**
   * How long a batch may wait for others to join its round (0: only those of the same turn of the
   * event loop). Caught up, a fetch holds a few events per partition: without a wait every fetch
   * would be a round (a history statement and a produce request each), paid for by Postgres and
   * the broker on the cores the next events need.
   */
  lingerMs: number;
  /** A partition with this many batches waiting starts a round at once (its scoring waits beyond that). */
  maxWaiting: number;
}

/**
 * Rounds in flight at once: while one writes to Postgres the next sends its outputs, and under a
 * backlog several Postgres backends work in parallel (one big statement would use one core).
 */
const ROUNDS_IN_FLIGHT = 4;
/** A round stops taking batches past this many events (a single larger batch still goes alone). */
const ROUND_EVENTS = 4_000;

/**
 * Group commit of the sinks across partitions: the batches that are ready at the same moment
 * (kafkajs hands the partitions of one fetch to concurrent `eachBatch` calls) share one round of
 * sinks, sent at once: the risk-scores topic and the DLQ, and one history
 * statement. Up to ROUNDS_IN_FLIGHT rounds run at once, on disjoint partitions (customers, and so
 * every row, belong to one partition each); a partition is in at most one round at a time, with
 * every batch it has waiting. If a
 * round fails, every batch in it fails: its sinks are idempotent and are sent again from the
 * partition's last checkpoint.
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private scheduled = false;
  private lingering: NodeJS.Timeout | undefined;
  /** Batches waiting per partition, and events waiting in all. */
  private readonly waiting = new Map<string, number>();
  private waitingEvents = 0;

  constructor(private readonly options: GroupCommitOptions) {}

  commit(batch: PreparedBatch): Promise<HistoryResult> {
    return new Promise<HistoryResult>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      const key = keyOf(batch);
      this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
      this.waitingEvents += sizeOf(batch);
      this.schedule();
    });
  }

  /**
   * Rounds start at the end of this turn of the event loop (the other partitions of the same
   * fetch, scored in it, join), once the first waiting batch has waited `lingerMs`, or at once when
   * a partition has `maxWaiting` batches waiting or a round's worth of events waits.
   */
  private schedule(): void {
    if (this.queue.length === 0) return;
    if (this.options.lingerMs > 0 && !this.full()) {
      this.lingering ??= setTimeout(() => this.startSoon(), this.options.lingerMs);
      return;
    }
    this.startSoon();
  }

  private full(): boolean {
    if (this.waitingEvents >= ROUND_EVENTS) return true;
    for (const batches of this.waiting.values()) if (batches >= this.options.maxWaiting) return true;
    return false;
  }

  private startSoon(): void {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    while (this.inFlight < ROUNDS_IN_FLIGHT) {
      const round = this.take();
      if (round.length === 0) return;
      this.inFlight++;
      void this.run(round).finally(() => {
        this.inFlight--;
        for (const waiting of round) this.busy.delete(keyOf(waiting.batch));
        this.schedule();
      });
    }
  }

  private async run(round: Waiting[]): Promise<void> {
    try {
      const results = await this.flush(round.map((waiting) => waiting.batch));
      round.forEach((waiting, i) => {
        waiting.resolve(results[i]);
      });
    } catch (error) {
      for (const waiting of round) waiting.reject(error);
    }
  }

  /**
   * Queued batches of partitions not in a round already, up to ROUND_EVENTS events: every batch
   * a partition has waiting goes in the same round, in order (while a live run scores ahead of
   * its sinks, a partition's next batches queue up behind its round and then go as one).
   */
  private take(): Waiting[] {
    const round: Waiting[] = [];
    const later: Waiting[] = [];
    const taken = new Set<string>();
    const deferred = new Set<string>();
    let events = 0;
    for (const waiting of this.queue) {
      const key = keyOf(waiting.batch);
      const size = sizeOf(waiting.batch);
      if (this.busy.has(key) || deferred.has(key) || (round.length > 0 && events + size > ROUND_EVENTS)) {
        // A partition's batches keep their order: once one waits, the ones after it wait too.
        deferred.add(key);
        later.push(waiting);
      } else {
        taken.add(key);
        round.push(waiting);
        events += size;
      }
    }
    for (const key of taken) this.busy.add(key);
    for (const { batch } of round) {
      const key = keyOf(batch);
      const left = this.waiting.get(key)! - 1;
      if (left === 0) this.waiting.delete(key);
      else this.waiting.set(key, left);
    }
    this.waitingEvents -= events;
    this.queue = later;
    return round;
  }

  private async flush(batches: PreparedBatch[]): Promise<HistoryResult[]> {
    const { sql, outputs, mode } = this.options;
    const [history] = await Promise.all([
      appendHistory(
        sql,
        batches.map((batch) => batch.history),
        mode,
      ),
      outputs.beforeCommit(batches.length === 1 ? batches[0].outputs : merged(batches)),
    ]);
    return history;
  }
}

const keyOf = (batch: PreparedBatch) => `${batch.topic}:${batch.partition}`;
const sizeOf = (batch: PreparedBatch) => batch.history.length + batch.outputs.dlq.length;

function merged(batches: PreparedBatch[]): BatchOutputs {
  const scores: RiskScoreView[] = [];
  const dlq: DlqRecord[] = [];
  for (const { outputs } of batches) {
    for (const view of outputs.scores) scores.push(view);
    for (const record of outputs.dlq) dlq.push(record);
  }
  return { scores, dlq };
}
