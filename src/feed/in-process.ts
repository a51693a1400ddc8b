import { traceSends, tracing } from '../ops/tracing';
import type { Services } from '../services';
import { riskPipeline } from '../risk/pipeline/factory';
import { riskOutputs } from '../risk/pipeline/outputs';
import type { RawMessage, RiskPipeline } from '../risk/pipeline/processor';
import { QualityWindow, writeRiskQuality } from '../risk/pipeline/quality';
import { riskTopics } from '../risk/kafka/topics';
import { TransactionFeed } from './generator';

export interface InProcessFeed {
  pipeline: RiskPipeline;
  stop(): Promise<void>;
}

const TICK_MS = 200;
const MAX_PER_BATCH = 5_000;
/** The customers are the same on every start (their state persists); the events are new each time. */
const PROFILE_SEED = 1;

/**
 * The embedded start's live scores without Kafka: the synthetic feed, paced by the wall clock,
 * goes through the same RiskPipeline as the Kafka consumer, as one virtual partition whose
 * checkpoint and customer states live in the (embedded) Postgres like any other.
 */
export async function startInProcessFeed(services: Services, options: { rate: number; customers: number }): Promise<InProcessFeed> {
  const { config, logger } = services;
  const log = logger.child({ component: 'in-process-feed' });
  const quality = new QualityWindow();
  const pipeline = riskPipeline(services, {
    outputs: riskOutputs({ logger: log, redis: services.redis, redisKeyPrefix: config.REDIS_KEY_PREFIX, pubsub: services.pubsub }),
    quality,
    logger: log,
    groupId: `${config.KAFKA_TOPIC_PREFIX}in-process-feed`,
    mode: 'live',
    provenance: false,
    // Every batch: embedded (no Redis), the latest scores are read from Postgres, which the checkpoint writes.
    checkpointIntervalMs: 0,
  });
  const topic = riskTopics(config).transactions;
  let offset = await pipeline.load(topic, 0);
  const startedAt = Date.now();
  const feed = new TransactionFeed({ seed: startedAt >>> 0, profileSeed: PROFILE_SEED, customers: options.customers, rate: options.rate, start: startedAt });
  // Every band within seconds, so a newcomer's first queries (README) return something to look at.
  feed.showcase();
  let produced = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();

  const step = async () => {
    const due = Math.min(MAX_PER_BATCH, Math.floor(((Date.now() - startedAt) / 1000) * options.rate) - produced);
    if (due <= 0) return;
    const messages: RawMessage[] = [];
    for (let i = 0; i < due; i++) {
      const { key, value } = feed.next();
      messages.push({ offset: String(offset + i), key, value });
    }
    produced += due;
    // Traced like a Kafka producer would be: the pipeline continues each sampled event's trace.
    const sent = tracing.on ? traceSends(topic, messages) : undefined;
    sent?.();
    try {
      const result = await pipeline.processBatch(topic, 0, messages);
      offset = result.kind === 'done' ? result.nextOffset : result.offset;
    } catch (error) {
      log.warn({ err: error, events: due }, 'could not score a batch of the in-process feed; it is skipped');
      offset = await pipeline.load(topic, 0).catch(() => offset);
    }
  };
  const schedule = () => {
    if (stopping) return;
    timer = setTimeout(() => {
      tick = step().finally(schedule);
    }, TICK_MS);
  };
  schedule();
  const qualityTimer = setInterval(() => {
    writeRiskQuality(services.db.prisma, quality.snapshot()).catch((error) => log.warn({ err: error }, 'could not write the data product quality'));
  }, config.RISK_QUALITY_INTERVAL_MS);
  qualityTimer.unref();
  log.info({ rate: options.rate, customers: options.customers }, 'scoring the synthetic feed in-process (no Kafka configured)');

  return {
    pipeline,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      clearInterval(qualityTimer);
      await tick;
    },
  };
}
