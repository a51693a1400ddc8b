import { hostname } from 'node:os';
import type { Admin } from 'kafkajs';
import type { Services } from '../../services';
import { KeyedPipeline, type KeyedOperator, type OperatorSinks, type OperatorView } from '../pipeline/keyed';
import { operatorMetrics } from '../pipeline/operator-metrics';
import type { QualityWindow } from '../pipeline/quality';
import { checkpointIdlePartitions, joinPipelineGroup, runPartitionBatches } from './batches';
import { lowWatermarks, riskConsumerSettings } from './consumer';

/** One stage of an operator: what it reads, under which consumer group, and where its outputs go. */
export interface OperatorStage<S, E> {
  operator: KeyedOperator<S, E, OperatorView>;
  topic: string;
  groupId: string;
  sinks: OperatorSinks;
  /** Fed with the stage's batches, for its data product's quality figures (the stage that serves the product). */
  quality?: QualityWindow;
  /** Called with the records of every batch done (the benchmark counts them). */
  onBatch?: (records: number) => void;
  /** A replay: `finished` once each of these partitions has reached its offset (list only non-empty partitions). */
  endOffsets?: Map<number, number>;
}

export interface RunningStage<S, E> {
  pipeline: KeyedPipeline<S, E>;
  crashed: Promise<Error>;
  /** With `endOffsets`: every listed partition reached its offset (never settles without them). */
  finished: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A consumer group driving one operator stage, as the risk consumer drives the risk pipeline:
 * kafkajs `eachBatch` with the same settings, no auto-commit, seeks where the pipeline's
 * checkpoint says; Postgres holds the position, Kafka's committed offsets are for tooling.
 */
export async function startOperatorStage<S, E>(services: Services, admin: Admin, stage: OperatorStage<S, E>): Promise<RunningStage<S, E>> {
  const { config, logger } = services;
  const log = logger.child({ component: 'operator', operator: stage.operator.product, groupId: stage.groupId });
  const metrics = operatorMetrics(services.metrics.registry);
  const pipeline = new KeyedPipeline<S, E>({
    operator: stage.operator,
    sql: services.db.sql,
    sinks: stage.sinks,
    metrics,
    quality: stage.quality,
    logger: log,
    groupId: stage.groupId,
    owner: `${hostname()}:${process.pid}`,
    initialOffset: lowWatermarks(admin),
    checkpointIntervalMs: config.RISK_CHECKPOINT_INTERVAL_MS,
    checkpointEvents: config.RISK_CHECKPOINT_EVENTS,
  });
  const settings = riskConsumerSettings(config);
  const { consumer, crashed } = await joinPipelineGroup(services.kafka!, settings.consumer, stage.groupId, stage.topic, pipeline);
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const reachedEnds = () => [...(stage.endOffsets ?? [])].every(([partition, end]) => (pipeline.position(stage.topic, partition) ?? -1) >= end);
  if (stage.endOffsets?.size === 0) finish();
  try {
    const batches = await runPartitionBatches(
      consumer,
      {
        process: (slice) => pipeline.processBatch(slice.topic, slice.partition, slice.messages),
        load: (topic, partition) => pipeline.load(topic, partition),
        done: (slice, result) => {
          stage.onBatch?.(slice.messages.length);
          const labels = { operator: stage.operator.product, topic: slice.topic, partition: String(slice.partition) };
          metrics.lag.set(labels, Math.max(0, Number(slice.highWatermark) - result.nextOffset));
          if (stage.endOffsets && reachedEnds()) finish();
        },
      },
      log,
      settings,
    );
    const checkpointTimer = checkpointIdlePartitions(pipeline, config.RISK_CHECKPOINT_INTERVAL_MS, log);
    let stopped: Promise<void> | undefined;
    return {
      pipeline,
      crashed,
      finished,
      stop: () =>
        (stopped ??= (async () => {
          clearInterval(checkpointTimer);
          await consumer.disconnect().catch((error) => log.warn({ err: error }, 'error while leaving the consumer group'));
          await batches.drain();
          await pipeline.checkpointIdle(true).catch((error) => log.warn({ err: error }, 'could not write the last checkpoints'));
        })()),
    };
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
}
