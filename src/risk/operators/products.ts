import { createRecordProducer, type RecordProducer } from '../../kafka/record-producer';
import { kafkaSecurity } from '../../kafka/security';
import type { Services } from '../../services';
import { AvroTransactionReader } from '../avro';
import { startOperatorStage, type OperatorStage, type RunningStage } from '../kafka/operator-consumer';
import { ensureRiskTopics, operatorGroupId, type RiskTopics } from '../kafka/topics';
import { operatorSinks } from '../pipeline/operator-sinks';
import { QualityWindow, writeProductQuality } from '../pipeline/quality';
import { MERCHANT_RISK_PRODUCT, merchantRepartitionOperator, merchantRiskOperator } from './merchant-risk';
import { PRODUCT_OUTPUTS, type OperatorProduct } from './product-outputs';
import { SPEND_FEATURES_PRODUCT, spendFeaturesOperator } from './spend-features';

/** Consumer groups of each product's stages (their checkpoints and states are kept under these). */
export function productGroups(config: Services['config'], product: OperatorProduct, suffix = ''): { main: string; repartition?: string } {
  return product === MERCHANT_RISK_PRODUCT
    ? {
        main: operatorGroupId(config, `${MERCHANT_RISK_PRODUCT}${suffix}`),
        repartition: operatorGroupId(config, `${MERCHANT_RISK_PRODUCT}-repartition${suffix}`),
      }
    : { main: operatorGroupId(config, `${SPEND_FEATURES_PRODUCT}${suffix}`) };
}

export interface OperatorRunOptions {
  /** Appended to the consumer groups (the benchmark's fresh groups). */
  groupSuffix?: string;
  /** Called with the records of every batch the stage reading `transactions` finished. */
  onIngested?: (records: number) => void;
}

export interface RunningProduct {
  topics: RiskTopics;
  groups: string[];
  crashed: Promise<Error>;
  stop(): Promise<void>;
}

/**
 * Starts a product's operator stages in this process: `customer-spend-features` reads
 * `transactions` directly (keyed by customer already); `merchant-risk` is two stages, as a Kafka
 * Streams topology with a repartition: `transactions` -> score and re-key by merchant ->
 * `transactions-by-merchant` -> the merchant aggregates. Each stage has its own consumer group,
 * checkpoints and keyed state; both share the process's producer.
 */
export async function startOperatorProduct(services: Services, product: OperatorProduct, options: OperatorRunOptions = {}): Promise<RunningProduct> {
  const { config, logger } = services;
  const brokers = config.KAFKA_BROKERS;
  if (!services.kafka || !brokers) throw new Error(`KAFKA_BROKERS is not set: the ${product} operator needs Kafka`);
  const log = logger.child({ component: 'operator', operator: product });
  const admin = services.kafka.admin();
  await admin.connect();
  let producer: RecordProducer | undefined;
  const stages: Array<Pick<RunningStage<unknown, unknown>, 'stop' | 'crashed'>> = [];
  const quality = new QualityWindow();
  let qualityTimer: NodeJS.Timeout | undefined;
  try {
    const topics = await ensureRiskTopics(admin, config, log);
    producer = await createRecordProducer(
      brokers,
      `${config.KAFKA_CLIENT_ID}-${product}`,
      [topics.dlq, topics.byMerchant, topics.spendFeatures, topics.merchantRisk],
      kafkaSecurity(config),
      config.RISK_SCORES_COMPRESSION,
    );
    const source = { maxEventBytes: config.RISK_MAX_EVENT_BYTES, avro: new AvroTransactionReader(services.registry) };
    const groups = productGroups(config, product, options.groupSuffix);
    const served = {
      logger: log,
      redis: services.redis,
      redisKeyPrefix: config.REDIS_KEY_PREFIX,
      producer,
      dlqTopic: topics.dlq,
      pubsub: services.pubsub,
      ...PRODUCT_OUTPUTS[product],
    };
    // Each stage as a thunk: stages differ in their state and event types.
    const stage =
      <S, E>(definition: OperatorStage<S, E>) =>
      () =>
        startOperatorStage(services, admin, definition);
    const plan =
      product === MERCHANT_RISK_PRODUCT
        ? [
            stage({
              operator: merchantRepartitionOperator(source),
              topic: topics.transactions,
              groupId: groups.repartition!,
              sinks: operatorSinks({ logger: log, producer, recordsTopic: topics.byMerchant, dlqTopic: topics.dlq }),
              onBatch: options.onIngested,
            }),
            stage({
              operator: merchantRiskOperator(),
              topic: topics.byMerchant,
              groupId: groups.main,
              sinks: operatorSinks({ ...served, viewsTopic: topics.merchantRisk }),
              quality,
            }),
          ]
        : [
            stage({
              operator: spendFeaturesOperator(source),
              topic: topics.transactions,
              groupId: groups.main,
              sinks: operatorSinks({ ...served, viewsTopic: topics.spendFeatures }),
              quality,
              onBatch: options.onIngested,
            }),
          ];
    // The first Prisma query loads its query compiler: paid before the first batch (as the risk consumer does).
    await services.db.prisma.$queryRaw`SELECT 1`;
    for (const start of plan) stages.push(await start());
    qualityTimer = setInterval(() => {
      writeProductQuality(services.db.prisma, product, quality.snapshot()).catch((error) =>
        log.warn({ err: error }, 'could not write the data product quality'),
      );
    }, config.RISK_QUALITY_INTERVAL_MS);
    qualityTimer.unref();
    let stopped: Promise<void> | undefined;
    return {
      topics,
      groups: Object.values(groups),
      crashed: Promise.race(stages.map((stage) => stage.crashed)),
      stop: () =>
        (stopped ??= (async () => {
          clearInterval(qualityTimer);
          for (const stage of stages) await stage.stop();
          await producer?.close().catch(() => undefined);
          await admin.disconnect().catch(() => undefined);
          await writeProductQuality(services.db.prisma, product, quality.snapshot()).catch(() => undefined);
        })()),
    };
  } catch (error) {
    clearInterval(qualityTimer);
    for (const stage of stages) await stage.stop().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
}
