import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
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

/** Consecutive messages of one partition from one fetch: a whole batch kafkajs handed over, or a slice of one. */
export interface PartitionSlice {
  topic: string;
  partition: number;
  /** The partition's end offset when it was fetched. */
  highWatermark: string;
  messages: KafkaMessage[];
}

/** A pipeline that keeps its partitions' positions in Postgres (the risk scorer, every keyed operator). */
export interface PartitionWork<R extends BatchOutcome> {
  process(slice: PartitionSlice): Promise<R>;
  /** The partition's position from its checkpoint (after a failed batch). */
  load(topic: string, partition: number): Promise<number>;
  /** After a slice was processed. */
  done?(slice: PartitionSlice, result: Extract<R, { kind: 'done' }>): void;
}

/** How many events the pipeline behind `slice` still has to read in its partition (its lag), as far as the fetch knew. */
export function behindOf(slice: PartitionSlice): number {
  const last = slice.messages.at(-1);
  return last ? Math.max(0, Number(slice.highWatermark) - Number(last.offset) - 1) : 0;
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
export async function paceFetch(batch: EachBatchPayload['batch'], arrivedAt: number, lingerMs: number): Promise<void> {
  const wait = arrivedAt + lingerMs - performance.now();
  if (wait > 0 && (batch.isEmpty() || Number(batch.highWatermark) - Number(batch.lastOffset()) - 1 <= 0)) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

const RETRY_MS = 1000;
const COMMIT_EVERY_MS = 1000;
/** How often `eachBatch` heartbeats while it waits for room in its partition's lane (kafkajs sends one per heartbeat interval at most). */
const BEAT_WHILE_WAITING_MS = 100;

/**
 * A batch is processed in slices of at most this many events (Kafka Streams' max.poll.records is
 * 1,000): a fetch of 5 MB a partition holds about 20,000 events, work that went on for seconds
 * after a rebalance had given the partition to another consumer (which started again from the
 * last checkpoint, taken only between batches) and held a stop as long. A slice's latest scores
 * are written together, newest per customer, so smaller slices coalesce fewer of them: catching
 * up on the ingestion benchmark's topic, Redis spent 3.0-3.3 µs per event with whole batches,
 * 5.3-6.5 with slices of 5,000 and 7.2-7.3 with 2,000 (2026-12-05).
 */
const SLICE_EVENTS = 5_000;

/** A batch kafkajs handed over, with what its partition's lane needs of the hand-over. */
interface HandedBatch {
  batch: EachBatchPayload['batch'];
  commitOffsetsIfNecessary: EachBatchPayload['commitOffsetsIfNecessary'];
}

/**
 * One partition's batches, processed in order in the background: the one being processed and at
 * most one more, which kafkajs fetched and decoded meanwhile.
 */
class Lane {
  private waiting: HandedBatch | undefined;
  /** Wakes the `eachBatch` waiting for room: one at most, since kafkajs hands a partition's batches over one at a time. */
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;

  /** `process` answers false when what waits behind the batch is no longer wanted (the partition was sought elsewhere). */
  constructor(private readonly process: (handed: HandedBatch) => Promise<boolean>) {}

  /**
   * Resolves once the lane can take a batch (none waits behind the one being processed), calling
   * `beat` every BEAT_WHILE_WAITING_MS meanwhile: kafkajs' own heartbeats are sent between batches,
   * so without them a member waiting here learnt of a rebalance only once the lane made room,
   * and the member joining waited as long.
   */
  async free(beat: () => Promise<void>): Promise<void> {
    while (this.waiting) {
      const roomMade = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          resolve(false);
        }, BEAT_WHILE_WAITING_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!roomMade) await beat();
    }
  }

  put(handed: HandedBatch): void {
    this.waiting = handed;
    this.running ??= this.run();
  }

  /** Forgets the batch waiting, if any (kafkajs fetches it again from the position sought). */
  drop(): void {
    this.waiting = undefined;
    this.makeRoom();
  }

  /** Resolves when the batch being processed (and any waiting behind it) is done. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private makeRoom(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async run(): Promise<void> {
    while (this.waiting) {
      const next = this.waiting;
      this.waiting = undefined;
      this.makeRoom();
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
  settings: { fetchLingerMs: number; run: { partitionsConsumedConcurrently: number }; sliceEvents?: number },
): Promise<PartitionBatches> {
  const batches = partitionBatches(consumer, work, log, settings.fetchLingerMs, settings.sliceEvents);
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
 * of 10 MB took 0.5-1.2 s to arrive (ingestion benchmark, BENCHMARKS.md). A lane processes a batch
 * in slices of at most `sliceEvents`, and stops between two after a rebalance or a stop. A failed slice goes back to the partition's checkpoint after a pause, a pipeline that
 * asks for another position is sought there (what waits behind it is dropped), a rebalance drops
 * what waits, and Kafka's committed offsets follow the pipeline's at most once a second per
 * partition, for tooling only (Postgres holds the position).
 */
export function partitionBatches<R extends BatchOutcome>(
  consumer: Consumer,
  work: PartitionWork<R>,
  log: Logger,
  fetchLingerMs = 0,
  sliceEvents = SLICE_EVENTS,
): PartitionBatches {
  const lastCommit = new Map<string, number>();
  const lanes = new Map<string, Lane>();
  let draining = false;
  let rebalances = 0;

  /** A batch, a slice at a time; false when it stopped early (what follows is fetched again by the partition's owner). */
  const process = async (handed: HandedBatch): Promise<boolean> => {
    const { topic, partition, highWatermark, messages } = handed.batch;
    const generation = rebalances;
    let from = 0;
    do {
      // After a rebalance or a stop, kafkajs fetches again from the offsets committed (a new
      // generation's), which the pipeline's own position is at or beyond.
      if (from > 0 && (draining || rebalances !== generation)) return false;
      const slice = messages.length <= sliceEvents ? messages : messages.slice(from, from + sliceEvents);
      if (!(await processSlice({ topic, partition, highWatermark, messages: slice }, handed))) return false;
      from += sliceEvents;
    } while (from < messages.length);
    return true;
  };

  const processSlice = async (slice: PartitionSlice, { commitOffsetsIfNecessary }: HandedBatch): Promise<boolean> => {
    const { topic, partition } = slice;
    let result: R;
    try {
      result = await work.process(slice);
    } catch (error) {
      // Nothing of the slice was committed and the partition's state was dropped: it is
      // reloaded and fetched again from its checkpoint.
      log.error({ err: error, partition, offset: slice.messages[0]?.offset }, 'batch failed; retrying from the checkpoint');
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
    work.done?.(slice, done);
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
    rebalances++;
    for (const lane of lanes.values()) lane.drop();
  });

  return {
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      const arrivedAt = performance.now();
      const key = `${batch.topic}:${batch.partition}`;
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, (lane = new Lane(process)));
      await lane.free(heartbeat);
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
