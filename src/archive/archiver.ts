import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Services } from '../services';
import { AvroTransactionReader } from '../risk/avro';
import { crashOf } from '../risk/kafka/batches';
import { riskTopics } from '../risk/kafka/topics';
import { riskScoresDataset, transactionsDataset, type ArchiveRow, type Dataset } from './datasets';
import { SegmentWriter } from './segment-writer';
import { startUsageArchiver } from './usage-archiver';
import { startRetention } from './retention';
import { ArchiveManifest } from './manifest';
import type { ObjectStore } from './object-store';

export interface ArchiverOptions {
  store: ObjectStore;
  /** Object key prefix (ARCHIVE_PREFIX). */
  prefix: string;
  groupId: string;
  /** A segment holds at most this many records of one partition ... */
  segmentEvents: number;
  /** ... and its first record waits at most this long. */
  segmentMaxAgeMs: number;
}

export interface RunningArchiver {
  groupId: string;
  topics: string[];
  crashed: Promise<Error>;
  /** Leaves the group, then writes what it still holds. */
  stop(): Promise<void>;
}

/** One partition's records waiting to be written. */
interface PartitionBuffer {
  topic: string;
  partition: number;
  dataset: Dataset;
  /** Where its next segment starts (the manifest's position); undefined before its first segment. */
  position: number | undefined;
  rows: ArchiveRow[];
  fromOffset: number;
  /** The offset after the last buffered record. */
  nextOffset: number;
  /** When its first buffered record arrived. */
  since: number;
  /** Writes of a partition happen one at a time (a batch and the age timer may both want to). */
  turn: Promise<unknown>;
  /** Set by a rebalance: read the position again before the next records (another archiver may have moved it). */
  reload: boolean;
  /** An offset this archiver sought back to after records went missing: seen missing again, they are gone (retention). */
  soughtFor?: number;
}

const RETRY_MS = 1000;

/**
 * The archiver (Kafka Connect's S3 sink, with a manifest instead of a connector offset): a
 * consumer group on the transactions and risk-scores topics that writes each partition's records
 * as Parquet segments, one object per event hour, named from the topic, partition and offset
 * range. A segment is claimed in the manifest before its objects are written and committed after;
 * the manifest, not Kafka's committed offset, says where a partition resumes, so a crash rewrites
 * the same segment (same names, replaced) and a second archiver cannot commit the same records.
 */
export async function startArchiver(services: Services, options: ArchiverOptions): Promise<RunningArchiver> {
  const { config, logger } = services;
  const kafka = services.kafka;
  if (!kafka) throw new Error('KAFKA_BROKERS is not set: the archiver reads the transactions and risk-scores topics');
  await options.store.check();
  const topics = riskTopics(config);
  const datasets = new Map<string, Dataset>([
    [topics.transactions, transactionsDataset],
    [topics.scores, riskScoresDataset],
  ]);
  const manifest = new ArchiveManifest(services.db.sql);
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const log = logger.child({ component: 'archiver', groupId: options.groupId });
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const writer = new SegmentWriter(options.store, manifest, options.prefix, owner, services.metrics.registry, (columns) =>
    parquetWriteBuffer({ columnData: columns }),
  );
  const avro = new AvroTransactionReader(services.registry);

  const buffers = new Map<string, PartitionBuffer>();
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: config.RISK_SESSION_TIMEOUT_MS,
    heartbeatInterval: Math.max(500, Math.floor(config.RISK_SESSION_TIMEOUT_MS / 6)),
    retry: { retries: 10 },
  });

  async function bufferOf(topic: string, partition: number): Promise<PartitionBuffer> {
    const id = `${topic}:${partition}`;
    let buffer = buffers.get(id);
    if (!buffer) {
      const position = await manifest.position(topic, partition);
      buffer = {
        topic,
        partition,
        dataset: datasets.get(topic)!,
        position,
        rows: [],
        fromOffset: position ?? 0,
        nextOffset: position ?? 0,
        since: 0,
        turn: Promise.resolve(),
        reload: false,
      };
      buffers.set(id, buffer);
    }
    return buffer;
  }

  const inTurn = <T>(buffer: PartitionBuffer, work: () => Promise<T>): Promise<T> => {
    const next = buffer.turn.then(work);
    buffer.turn = next.catch(() => undefined);
    return next;
  };

  /** Writes the buffered records as one segment; false when it could not (the buffer is then empty and the partition rewound). */
  async function writeSegment(buffer: PartitionBuffer): Promise<boolean> {
    const { topic, partition, dataset } = buffer;
    const rows = buffer.rows;
    const fromOffset = buffer.fromOffset;
    const toOffset = buffer.nextOffset;
    buffer.rows = [];
    try {
      if ((await writer.write({ topic, partition, dataset, fromOffset, toOffset, rows })) === 'fenced') return fenced(buffer);
      buffer.position = toOffset;
      buffer.fromOffset = buffer.nextOffset = toOffset;
      // For tooling (lag dashboards) only: the manifest says where the partition resumes.
      await consumer
        .commitOffsets([{ topic, partition, offset: String(toOffset) }])
        .catch((error) => log.debug({ err: error }, 'could not commit the offset to Kafka (informational only)'));
      return true;
    } catch (error) {
      log.error({ err: error, topic, partition, fromOffset, toOffset }, 'could not write an archive segment; rewinding to the manifest position');
      await rewind(buffer, fromOffset);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      return false;
    }
  }

  async function fenced(buffer: PartitionBuffer): Promise<boolean> {
    log.warn({ topic: buffer.topic, partition: buffer.partition }, 'another archiver has archived this partition further; resuming from the manifest');
    await rewind(buffer, buffer.fromOffset);
    return false;
  }

  /** Drops what is buffered and fetches again from the manifest's position. */
  async function rewind(buffer: PartitionBuffer, fallback: number): Promise<void> {
    buffer.rows = [];
    buffer.position = await manifest.position(buffer.topic, buffer.partition).catch(() => buffer.position);
    buffer.fromOffset = buffer.nextOffset = buffer.position ?? fallback;
    seek(buffer);
  }

  function seek(buffer: PartitionBuffer): void {
    try {
      consumer.seek({ topic: buffer.topic, partition: buffer.partition, offset: String(buffer.nextOffset) });
    } catch (error) {
      // Stopping: the next owner starts from the manifest anyway.
      log.debug({ err: error }, 'could not seek');
    }
  }

  /** Adds a batch's records; writes a segment whenever one is full. False when the partition was rewound. */
  async function add(buffer: PartitionBuffer, messages: KafkaMessage[], partition: number): Promise<boolean> {
    if (buffer.reload) {
      buffer.reload = false;
      if (buffer.rows.length === 0) {
        buffer.position = await manifest.position(buffer.topic, partition);
        buffer.fromOffset = buffer.nextOffset = buffer.position ?? 0;
      }
    }
    await avro.prepare(messages);
    for (const message of messages) {
      const offset = Number(message.offset);
      const expecting = buffer.position !== undefined || buffer.rows.length > 0;
      // Already archived, or already buffered (a batch fetched again).
      if (expecting && offset < buffer.nextOffset) continue;
      if (expecting && offset > buffer.nextOffset && buffer.soughtFor !== buffer.nextOffset) {
        // Records between the position and this one were not received (a fetch that raced a
        // rewind): fetch them again rather than write a segment without them. If Kafka no longer
        // has them (retention deleted them before they were archived), the next fetch says so.
        buffer.soughtFor = buffer.nextOffset;
        seek(buffer);
        return false;
      }
      if (offset > buffer.nextOffset && expecting)
        log.warn({ topic: buffer.topic, partition, from: buffer.nextOffset, to: offset }, 'records missing from Kafka (deleted before they were archived)');
      if (buffer.rows.length === 0) {
        buffer.fromOffset = buffer.position ?? offset;
        buffer.since = Date.now();
      }
      buffer.rows.push(buffer.dataset.row({ partition, offset, timestamp: Number(message.timestamp), key: message.key, value: message.value }, avro));
      buffer.nextOffset = offset + 1;
      if (buffer.rows.length >= options.segmentEvents && !(await writeSegment(buffer))) return false;
    }
    return true;
  }

  const crashed = crashOf(consumer);
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // Partitions that moved elsewhere: their new owner reads them again from the manifest.
    const owned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => `${topic}:${partition}`)));
    for (const [id, buffer] of buffers) {
      if (!owned.has(id)) buffers.delete(id);
      else buffer.reload = true;
    }
    log.info({ assignment: payload.memberAssignment }, 'partitions assigned');
  });

  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...datasets.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
        if (!isRunning() || isStale()) return;
        const buffer = await bufferOf(batch.topic, batch.partition);
        const kept = await inTurn(buffer, () => add(buffer, batch.messages, batch.partition));
        if (kept && batch.messages.length) resolveOffset(batch.lastOffset());
        await heartbeat();
      },
    });
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }

  const usage = startUsageArchiver(services.db.sql, manifest, writer, log);
  const retention = config.HISTORY_RETENTION_DAYS
    ? startRetention({ sql: services.db.sql, manifest, store: options.store }, config.HISTORY_RETENTION_DAYS, log)
    : undefined;

  // Partitions whose records stopped coming still get them written.
  const ageTimer = setInterval(
    () => {
      const now = Date.now();
      for (const buffer of buffers.values()) {
        if (buffer.rows.length && now - buffer.since >= options.segmentMaxAgeMs) {
          void inTurn(buffer, async () => {
            if (buffer.rows.length && Date.now() - buffer.since >= options.segmentMaxAgeMs) await writeSegment(buffer);
          });
        }
      }
    },
    Math.min(1000, Math.max(50, Math.floor(options.segmentMaxAgeMs / 4))),
  );
  ageTimer.unref();

  let stopped: Promise<void> | undefined;
  return {
    groupId: options.groupId,
    topics: [...datasets.keys()],
    crashed,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(ageTimer);
        await usage.stop();
        await retention?.stop();
        await consumer.disconnect().catch((error) => log.warn({ err: error }, 'error while leaving the consumer group'));
        // What is buffered is written now (a partition taken over meanwhile is fenced, not doubled).
        await Promise.all([...buffers.values()].map((buffer) => inTurn(buffer, async () => void (buffer.rows.length && (await writeSegment(buffer))))));
      })()),
  };
}
