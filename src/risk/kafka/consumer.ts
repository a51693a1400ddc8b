import type { Admin, Consumer } from 'kafkajs';
import { startProducerThread } from '../../kafka/producer-thread';
import type { RecordProducer } from '../../kafka/record-producer';
import { kafkaSecuritySettings } from '../../kafka/security';
import type { Config } from '../../config/schema';
import type { Services } from '../../services';
import { RISK_SCORE_AVRO_SCHEMA, RISK_SCORES_SUBJECT, riskScoreEncoder } from '../avro';
import { CUSTOMER_RISK_SCORES } from '../../catalog/customer-risk-scores';
import { riskMetrics } from '../pipeline/metrics';
import { NO_OUTPUTS, riskOutputs, type RiskOutputs } from '../pipeline/outputs';
import { riskPipeline } from '../pipeline/factory';
import type { BatchResult, RiskPipeline } from '../pipeline/processor';
import { QualityWindow, writeRiskQuality } from '../pipeline/quality';
import { behindOf, checkpointIdlePartitions, joinPipelineGroup, runPartitionBatches } from './batches';
import { ensureRiskTopics, riskGroupId, type RiskTopics } from './topics';
import { tuneHeap } from '../../ops/heap-tuning';
import { LatestThread } from '../pipeline/latest-thread';
import { redisSettings } from '../../redis/client';

export interface RiskConsumerOptions {
  /** Default: KAFKA_TOPIC_PREFIX + RISK_CONSUMER_GROUP. */
  groupId?: string;
  mode?: 'live' | 'replay';
  /** Replay: history only for events at or after this time. */
  historyFrom?: number;
  /** Replay: finished once each of these partitions has reached its offset (list only non-empty partitions). */
  endOffsets?: Map<number, number>;
  /** Called after every processed batch. */
  onBatch?: (partition: number, result: BatchResult) => void;
}

export interface RunningRiskConsumer {
  pipeline: RiskPipeline;
  topics: RiskTopics;
  groupId: string;
  /** Resolves when a replay has reached its end offsets (never for a live consumer). */
  finished: Promise<void>;
  /** Resolves if kafkajs gives up on the consumer (a crash it will not restart from): exit and let the supervisor restart. */
  crashed: Promise<Error>;
  /** Finishes the batches in flight, leaves the group, flushes the quality figures. */
  stop(): Promise<void>;
}

/**
 * A fetch's size when partitions are behind (caught up, a fetch holds what arrived meanwhile):
 * five times kafkajs' defaults. A fetch of 40,000 events took 0.5-1.2 s to arrive on the loaded
 * benchmark machine while its batches were processed in a third of that; with the batches
 * processed beside the next fetch (src/risk/kafka/batches.ts) larger fetches keep the pipeline
 * busy (ingestion benchmark, 2026-12-05: 28-29k → 30-34k events/s). About 50 MB of records and
 * their decoded messages are in memory per fetch, and one more fetch while they are processed.
 */
const FETCH_MAX_BYTES = 50 * 1024 * 1024;
const FETCH_MAX_BYTES_PER_PARTITION = 5 * 1024 * 1024;

/**
 * The kafkajs settings of the risk consumer that bear on how it fetches and hands out batches
 * (the benchmark's raw kafkajs consumer uses exactly these, so the two compare like for like).
 */
export function riskConsumerSettings(config: Pick<Config, 'RISK_SESSION_TIMEOUT_MS' | 'RISK_CONSUMER_CONCURRENCY' | 'RISK_FETCH_LINGER_MS'>) {
  return {
    fetchLingerMs: config.RISK_FETCH_LINGER_MS,
    consumer: {
      sessionTimeout: config.RISK_SESSION_TIMEOUT_MS,
      heartbeatInterval: Math.max(500, Math.floor(config.RISK_SESSION_TIMEOUT_MS / 6)),
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
    },
    run: { partitionsConsumedConcurrently: config.RISK_CONSUMER_CONCURRENCY },
  };
}
/**
 * The risk consumer group on `transactions`: kafkajs `eachBatch`, no auto-commit, no topic
 * auto-creation. Each batch goes through the RiskPipeline, which commits its effects and the
 * next offset to Postgres; Kafka's own committed offsets are then updated (at most once a second
 * per partition) for tooling only.
 */
export async function startRiskConsumer(services: Services, options: RiskConsumerOptions = {}): Promise<RunningRiskConsumer> {
  tuneHeap();
  const { config, logger } = services;
  const kafka = services.kafka;
  const brokers = config.KAFKA_BROKERS;
  if (!kafka || !brokers) throw new Error('KAFKA_BROKERS is not set: the risk consumer needs Kafka (the embedded start scores its demo feed in-process)');
  const mode = options.mode ?? 'live';
  const groupId = options.groupId ?? riskGroupId(config);
  const log = logger.child({ component: 'risk-consumer', groupId });

  const admin = kafka.admin();
  await admin.connect();
  let producer: RecordProducer | undefined;
  let consumer: Consumer | undefined;
  // The latest scores are written from a thread of their own (one Redis server; a Cluster takes one call per score instead).
  const latestThread =
    mode === 'live' && services.redis && !services.redis.isCluster
      ? new LatestThread({ redis: redisSettings(config), prefix: config.REDIS_KEY_PREFIX, logLevel: config.LOG_LEVEL }, log)
      : undefined;
  latestThread?.start();
  const quality = new QualityWindow();
  let qualityTimer: NodeJS.Timeout | undefined;
  try {
    const topics = await ensureRiskTopics(admin, config, log);
    if (mode === 'live') {
      // The risk-scores topic and the DLQ are written from a thread of their own too.
      producer = await startProducerThread(
        {
          brokers,
          clientId: `${config.KAFKA_CLIENT_ID}-risk`,
          topics: [topics.scores, topics.dlq],
          security: kafkaSecuritySettings(config),
          compression: config.RISK_SCORES_COMPRESSION,
        },
        log,
      );
    }
    const outputs: RiskOutputs =
      mode === 'live'
        ? riskOutputs({
            logger: log,
            redis: services.redis,
            redisKeyPrefix: config.REDIS_KEY_PREFIX,
            pubsub: services.pubsub,
            producer,
            scoresTopic: topics.scores,
            encodeScore: config.RISK_SCORES_FORMAT === 'avro' ? await avroScores(services) : undefined,
            dlqTopic: topics.dlq,
            latestCalls: latestThread,
          })
        : NO_OUTPUTS;
    const pipeline = riskPipeline(services, {
      outputs,
      quality: mode === 'live' ? quality : undefined,
      logger: log,
      groupId,
      mode,
      provenance: true,
      historyFrom: options.historyFrom,
      initialOffset: lowWatermarks(admin),
      // A replay checkpoints every batch: its end state is what it is run for.
      checkpointIntervalMs: mode === 'live' ? config.RISK_CHECKPOINT_INTERVAL_MS : 0,
      onSinksFailed: (topic, partition, offset) => consumer?.seek({ topic, partition, offset: String(offset) }),
    });

    // The first Prisma query of a process loads its query compiler (WebAssembly): a pause of a
    // few hundred milliseconds on the event loop. Paid here, before the first batch, not 30 s into
    // consuming when the first quality report would (it showed as the freshness benchmark's tail).
    await services.db.prisma.$queryRaw`SELECT 1`;

    const settings = riskConsumerSettings(config);
    const joined = await joinPipelineGroup(kafka, settings.consumer, groupId, topics.transactions, pipeline, (partitions, memberId) =>
      log.info({ partitions, memberId }, 'partitions assigned'),
    );
    consumer = joined.consumer;
    const running = consumer;
    const { crashed } = joined;

    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const replayDone = () => {
      if (!options.endOffsets) return false;
      for (const [partition, end] of options.endOffsets) {
        if ((pipeline.position(topics.transactions, partition) ?? -1) < end) return false;
      }
      return true;
    };
    if (options.endOffsets && options.endOffsets.size === 0) finish();

    const { lag } = riskMetrics(services.metrics.registry);
    const batches = await runPartitionBatches<BatchResult>(
      running,
      {
        process: (slice) => pipeline.processBatch(slice.topic, slice.partition, slice.messages, behindOf(slice)),
        load: (topic, partition) => pipeline.load(topic, partition),
        done: (slice, result) => {
          lag.set({ topic: slice.topic, partition: String(slice.partition) }, Math.max(0, Number(slice.highWatermark) - result.nextOffset));
          options.onBatch?.(slice.partition, result);
          if (replayDone()) finish();
        },
      },
      log,
      settings,
    );

    const checkpointTimer = checkpointIdlePartitions(pipeline, config.RISK_CHECKPOINT_INTERVAL_MS, log);
    if (mode === 'live') {
      qualityTimer = setInterval(() => {
        writeRiskQuality(services.db.prisma, quality.snapshot()).catch((error) => log.warn({ err: error }, 'could not write the data product quality'));
      }, config.RISK_QUALITY_INTERVAL_MS);
      qualityTimer.unref();
    }

    let stopped: Promise<void> | undefined;
    return {
      pipeline,
      topics,
      groupId,
      finished,
      crashed,
      stop: () =>
        (stopped ??= (async () => {
          clearInterval(qualityTimer);
          clearInterval(checkpointTimer);
          await running.disconnect().catch((error) => log.warn({ err: error }, 'error while leaving the consumer group'));
          await batches.drain();
          // What was scored since the last checkpoints (a partition taken over meanwhile is fenced, not overwritten).
          await pipeline.checkpointIdle(true).catch((error) => log.warn({ err: error }, 'could not write the last checkpoints'));
          await latestThread?.close();
          await producer?.close().catch(() => undefined);
          await admin.disconnect().catch(() => undefined);
          if (mode === 'live') await writeRiskQuality(services.db.prisma, quality.snapshot()).catch(() => undefined);
        })()),
    };
  } catch (error) {
    clearInterval(qualityTimer);
    await consumer?.disconnect().catch(() => undefined);
    await latestThread?.close();
    await producer?.close().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
}

/**
 * The Avro encoding of the risk-scores topic: the score schema registered (or found again) in
 * the catalog's registry as a subject of the customer-risk-scores product, whose readers may then
 * fetch it by id. An incompatible change to the schema stops the consumer here, at its start.
 */
async function avroScores(services: Services) {
  const { id } = await services.registry.register(RISK_SCORES_SUBJECT, RISK_SCORE_AVRO_SCHEMA, { dataProductSlug: CUSTOMER_RISK_SCORES.slug });
  return riskScoreEncoder(id);
}

/** Where a partition new to the group starts: the oldest offset Kafka still has. */
export function lowWatermarks(admin: Admin): (topic: string, partition: number) => Promise<number> {
  return async (topic, partition) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return Number(offsets.find((entry) => entry.partition === partition)?.low ?? 0);
  };
}
