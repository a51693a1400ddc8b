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

  constructor(private readonly options: GroupCommitOptions) {}

  commit(batch: PreparedBatch): Promise<HistoryResult> {
    return new Promise<HistoryResult>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // Let the other partitions of the same fetch, scored in this turn of the event loop, join.
        setImmediate(() => {
          this.scheduled = false;
          this.start();
        });
      }
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
        this.start();
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
      const size = waiting.batch.history.length + waiting.batch.outputs.dlq.length;
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

function merged(batches: PreparedBatch[]): BatchOutputs {
  const scores: RiskScoreView[] = [];
  const dlq: DlqRecord[] = [];
  for (const { outputs } of batches) {
    for (const view of outputs.scores) scores.push(view);
    for (const record of outputs.dlq) dlq.push(record);
  }
  return { scores, dlq };
}
