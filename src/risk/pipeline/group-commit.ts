import type { BatchOutputs, DlqRecord, RiskOutputs } from './outputs';
import { commitBatches, type CommitResult, type PartitionCommit, type Sql } from './store';
import type { RiskScoreView } from '../view';

/** A scored batch waiting for its outputs and its commit. */
export interface PreparedBatch {
  commit: PartitionCommit;
  outputs: BatchOutputs;
}

interface Waiting {
  batch: PreparedBatch;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  sql: Sql;
  outputs: RiskOutputs;
  groupId: string;
  owner: string;
  mode: 'live' | 'replay';
}

/**
 * Group commit across partitions: the batches that are ready at the same moment (kafkajs hands
 * the partitions of one fetch to concurrent `eachBatch` calls) share one round of outputs
 * (Redis, the risk-scores topic, the DLQ) and one Postgres transaction, instead of one each.
 * A batch that becomes ready while a round is in flight goes into the next round. Each batch
 * keeps its own compare-and-set on its partition's checkpoint, so a fenced partition does not
 * hold back the others; if a round fails, every batch in it fails (nothing of it was committed).
 * The order is unchanged: outputs first (at least once), then the commit.
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private flushing = false;

  constructor(private readonly options: GroupCommitOptions) {}

  commit(batch: PreparedBatch): Promise<CommitResult> {
    return new Promise<CommitResult>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Let the other partitions of the same fetch, scored in this turn of the event loop, join.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const round = this.take();
      try {
        const results = await this.flush(round.map((waiting) => waiting.batch));
        round.forEach((waiting, i) => waiting.resolve(results[i]));
      } catch (error) {
        for (const waiting of round) waiting.reject(error);
      }
    }
    this.flushing = false;
  }

  /** The queued batches, at most one per partition (a second one waits for the next round: its compare-and-set starts where the first one ends). */
  private take(): Waiting[] {
    const round: Waiting[] = [];
    const later: Waiting[] = [];
    const partitions = new Set<string>();
    for (const waiting of this.queue) {
      const key = `${waiting.batch.commit.topic}:${waiting.batch.commit.partition}`;
      if (partitions.has(key)) later.push(waiting);
      else {
        partitions.add(key);
        round.push(waiting);
      }
    }
    this.queue = later;
    return round;
  }

  private async flush(batches: PreparedBatch[]): Promise<CommitResult[]> {
    const { sql, outputs, groupId, owner, mode } = this.options;
    await outputs.beforeCommit(batches.length === 1 ? batches[0].outputs : merged(batches));
    return commitBatches(sql, { groupId, owner, mode, batches: batches.map((batch) => batch.commit) });
  }
}

function merged(batches: PreparedBatch[]): BatchOutputs {
  const scores: RiskScoreView[] = [];
  const latest: RiskScoreView[] = [];
  const dlq: DlqRecord[] = [];
  for (const { outputs } of batches) {
    for (const view of outputs.scores) scores.push(view);
    for (const view of outputs.latest) latest.push(view);
    for (const record of outputs.dlq) dlq.push(record);
  }
  return { scores, latest, dlq };
}
