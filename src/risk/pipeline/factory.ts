import { hostname } from 'node:os';
import type { Services } from '../../services';
import type { Logger } from '../../ops/logger';
import { AvroTransactionReader } from '../avro';
import { riskMetrics } from './metrics';
import { RiskPipeline, type PipelineOptions } from './processor';

/** What differs between the pipeline's runs (live consumer, replay from Kafka or from the archive, in-process feed). */
export type PipelineRun = Pick<PipelineOptions, 'outputs' | 'groupId' | 'mode' | 'provenance' | 'checkpointIntervalMs'> &
  Partial<Pick<PipelineOptions, 'quality' | 'historyFrom' | 'initialOffset' | 'onSinksFailed'>> & { logger: Logger };

/**
 * The one way to build the risk pipeline: everything that is the same for every run (the
 * database, metrics, the event size limit, Avro reading through the catalog's registry, the
 * checkpoint rules) comes from the services and the configuration.
 */
export function riskPipeline(services: Services, run: PipelineRun): RiskPipeline {
  const { config } = services;
  return new RiskPipeline({
    sql: services.db.sql,
    metrics: riskMetrics(services.metrics.registry),
    owner: `${hostname()}:${process.pid}`,
    maxEventBytes: config.RISK_MAX_EVENT_BYTES,
    avro: new AvroTransactionReader(services.registry),
    checkpointEvents: config.RISK_CHECKPOINT_EVENTS,
    sinkLingerMs: config.RISK_SINK_LINGER_MS,
    // Without Redis, the latest scores are read from Postgres, which the checkpoint writes.
    checkpointLatest: !services.redis,
    ...run,
  });
}
