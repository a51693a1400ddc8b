import type { Batch, Consumer, ConsumerConfig, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../../ops/logger';

/** A pipeline that owns the partitions a rebalance gives its consumer. */
export interface PartitionOwner {
  /** Keeps the in-memory partitions `owned` says are still this consumer's (the others' new owners reload them from the checkpoint). */
  retain(owned: (topic: string, partition: number) => boolean): void;
  /** Every kept partition checks its position against the checkpoint before its next batch (another owner may have moved it). */
  invalidate(): void;
}

/**
 * Partitions that stopped receiving events still get their last progress checkpointed: a timer
 * (unref'd: it keeps no process alive) asks the pipeline every checkpoint interval, at least 100 ms apart.
 */
export function checkpointIdlePartitions(pipeline: { checkpointIdle(): Promise<void> }, intervalMs: number, log: Logger): NodeJS.Timeout {
  const timer = setInterval(
    () => {
      pipeline.checkpointIdle().catch((error) => log.warn({ err: error }, 'could not checkpoint idle partitions'));
    },
    Math.max(100, intervalMs),
  );
  timer.unref();
  return timer;
}

/** Resolves with the error of a crash kafkajs will not restart the consumer from (the process should exit and be restarted). */
export function crashOf(consumer: Consumer): Promise<Error> {
  return new Promise<Error>((resolve) =>
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) resolve(payload.error);
    }),
  );
}

/**
 * Joins a pipeline's consumer group on `topic` (connected and subscribed from the beginning; a
 * failure leaves nothing connected). A rebalance hands the pipeline its new partitions, and
 * `crashed` resolves with the error of a crash kafkajs will not restart from.
 */
export async function joinPipelineGroup(
  kafka: Kafka,
  settings: Omit<ConsumerConfig, 'groupId'>,
  groupId: string,
  topic: string,
  pipeline: PartitionOwner,
  onAssigned?: (partitions: number[], memberId: string) => void,
): Promise<{ consumer: Consumer; crashed: Promise<Error> }> {
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, ...settings, retry: { retries: 10 } });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  const crashed = crashOf(consumer);
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const owned = new Set((payload.memberAssignment[topic] ?? []).map(Number));
    pipeline.retain((t, partition) => t === topic && owned.has(partition));
    pipeline.invalidate();
    onAssigned?.(
      [...owned].sort((a, b) => a - b),
      payload.memberId,
    );
  });
  return { consumer, crashed };
}

/** What a pipeline says of a batch: processed up to `nextOffset`, or where the consumer must fetch from. */
export type BatchOutcome = { kind: 'done'; nextOffset: number } | { kind: 'seek' | 'fenced'; offset: number };

/** A pipeline that keeps its partitions' positions in Postgres (the risk scorer, every keyed operator). */
export interface PartitionWork<R extends BatchOutcome> {
  process(batch: Batch): Promise<R>;
  /** The partition's position from its checkpoint (after a failed batch). */
  load(topic: string, partition: number): Promise<number>;
  /** After a batch was processed and its offsets resolved. */
  done?(batch: Batch, result: Extract<R, { kind: 'done' }>): void;
}

/**
 * A consumer that has caught up pauses before its next fetch until `lingerMs` after its last
 * fetch's batches arrived, so the events of that moment come in one fetch. The broker answers a
 * fetch as soon as it has one event (fetch.min.bytes 1): caught up at 1,000 events/s that was a
 * fetch, a round of batches and a latest-score write for every event or two (measured with the
 * pacing: 15 % less CPU per event in the consumer and the broker). Kafka's own knobs
 * (fetch.min.bytes with fetch.max.wait.ms of a few milliseconds) would do it too, but an idle
 * consumer then polls the broker every few milliseconds (measured: 10 % of a core for each of
 * them); paced here, an idle fetch still waits on the broker for the first event. A partition
 * behind (a backlog) is fetched again at once.
 */
export async function paceFetch(batch: Batch, arrivedAt: number, lingerMs: number): Promise<void> {
  const wait = arrivedAt + lingerMs - performance.now();
  if (wait > 0 && (batch.isEmpty() || Number(batch.highWatermark) - Number(batch.lastOffset()) - 1 <= 0)) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

const RETRY_MS = 1000;
const COMMIT_EVERY_MS = 1000;

/** A batch kafkajs handed over, with what its partition's lane needs of the hand-over. */
interface HandedBatch {
  batch: Batch;
  commitOffsetsIfNecessary: EachBatchPayload['commitOffsetsIfNecessary'];
}

/**
 * One partition's batches, processed in order in the background: the one being processed and at
 * most one more, which kafkajs fetched and decoded meanwhile.
 */
class Lane {
  private waiting: HandedBatch | undefined;
  private readonly room: Array<() => void> = [];
  private running: Promise<void> | undefined;

  /** `process` answers false when what waits behind the batch is no longer wanted (the partition was sought elsewhere). */
  constructor(private readonly process: (handed: HandedBatch) => Promise<boolean>) {}

  /** Resolves once the lane can take a batch (none waits behind the one being processed). */
  async free(): Promise<void> {
    while (this.waiting) await new Promise<void>((resolve) => this.room.push(resolve));
  }

  put(handed: HandedBatch): void {
    this.waiting = handed;
    this.running ??= this.run();
  }

  /** Forgets the batch waiting, if any (kafkajs fetches it again from the position sought). */
  drop(): void {
    this.waiting = undefined;
    this.room.shift()?.();
  }

  /** Resolves when the batch being processed (and any waiting behind it) is done. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    while (this.waiting) {
      const next = this.waiting;
      this.waiting = undefined;
      this.room.shift()?.();
      if (!(await this.process(next))) this.drop();
    }
    this.running = undefined;
  }
}

/** The `eachBatch` of a pipeline's consumer, and the batches it has under way. */
export interface PartitionBatches {
  eachBatch: (payload: EachBatchPayload) => Promise<void>;
  /** Waits for the batches being processed; a batch not started yet is dropped (fetched again from the checkpoint by whoever owns its partition next). */
  drain(): Promise<void>;
}

/**
 * Runs a pipeline's consumer on `partitionBatches`, without kafkajs' auto-commit and auto-resolve
 * (the lanes resolve each batch's offsets as they take it, and Postgres holds the position).
 * Returns the batches under way, to drain before the last checkpoints.
 */
export async function runPartitionBatches<R extends BatchOutcome>(
  consumer: Consumer,
  work: PartitionWork<R>,
  log: Logger,
  settings: { fetchLingerMs: number; run: { partitionsConsumedConcurrently: number } },
): Promise<PartitionBatches> {
  const batches = partitionBatches(consumer, work, log, settings.fetchLingerMs);
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, ...settings.run, eachBatch: batches.eachBatch });
  return batches;
}

/**
 * The `eachBatch` of every pipeline's consumer group (no auto-commit, no auto-resolve). kafkajs
 * fetches again only once every `eachBatch` of its last fetch has returned, so a batch is handed to
 * its partition's lane and processed there while the next fetch is under way (Kafka Streams' and
 * Flink's sources also fetch ahead of processing): at most one batch per partition waits behind the
 * one being processed, and `eachBatch` waits for room beyond that. Behind, with every batch
 * processed inside `eachBatch`, a batch was being processed only 35-55 % of the time and a fetch
 * of 10 MB took 0.5-1.2 s to arrive (ingestion benchmark, BENCHMARKS.md). A failed batch goes back to the partition's checkpoint after a pause, a pipeline that
 * asks for another position is sought there (what waits behind it is dropped), a rebalance drops
 * what waits, and Kafka's committed offsets follow the pipeline's at most once a second per
 * partition, for tooling only (Postgres holds the position).
 */
export function partitionBatches<R extends BatchOutcome>(consumer: Consumer, work: PartitionWork<R>, log: Logger, fetchLingerMs = 0): PartitionBatches {
  const lastCommit = new Map<string, number>();
  const lanes = new Map<string, Lane>();
  let draining = false;

  const process = async ({ batch, commitOffsetsIfNecessary }: HandedBatch): Promise<boolean> => {
    const { topic, partition } = batch;
    let result: R;
    try {
      result = await work.process(batch);
    } catch (error) {
      // Nothing of the batch was committed and the partition's state was dropped: it is
      // reloaded and fetched again from its checkpoint.
      log.error({ err: error, partition, offset: batch.firstOffset() }, 'batch failed; retrying from the checkpoint');
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      const offset = await work.load(topic, partition).catch(() => undefined);
      if (offset !== undefined) consumer.seek({ topic, partition, offset: String(offset) });
      return false;
    }
    if (result.kind !== 'done') {
      consumer.seek({ topic, partition, offset: String((result as Extract<BatchOutcome, { offset: number }>).offset) });
      return false;
    }
    const done = result as Extract<R, { kind: 'done' }>;
    work.done?.(batch, done);
    const key = `${topic}:${partition}`;
    const now = Date.now();
    if (now - (lastCommit.get(key) ?? 0) >= COMMIT_EVERY_MS) {
      lastCommit.set(key, now);
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(done.nextOffset) }] }] }).catch((error) =>
        log.debug({ err: error }, 'could not commit the offset to Kafka (informational only)'),
      );
    }
    return true;
  };

  // The assignment may change: what waits is fetched again by whoever owns its partition after it.
  consumer.on(consumer.events.REBALANCING, () => {
    for (const lane of lanes.values()) lane.drop();
  });

  return {
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      const arrivedAt = performance.now();
      const key = `${batch.topic}:${batch.partition}`;
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, (lane = new Lane(process)));
      await lane.free();
      // A seek (by this consumer's lane, or a sink that failed) or a rebalance while it waited makes the batch stale.
      if (draining || !isRunning() || isStale()) return;
      lane.put({ batch, commitOffsetsIfNecessary });
      // The next fetch starts after this batch; a lane that goes back to its checkpoint seeks there.
      if (batch.messages.length) resolveOffset(batch.lastOffset());
      await paceFetch(batch, arrivedAt, fetchLingerMs);
      await heartbeat();
    },
    async drain() {
      draining = true;
      for (const lane of lanes.values()) lane.drop();
      await Promise.all([...lanes.values()].map((lane) => lane.idle()));
    },
  };
}
