import type { Admin } from 'kafkajs';
import type { Config } from '../../config/schema';
import type { Logger } from '../../ops/logger';

export interface RiskTopics {
  transactions: string;
  dlq: string;
  scores: string;
  /** The merchant-risk operator's repartition topic: scored transactions keyed by merchant. */
  byMerchant: string;
  /** The operators' output topics: every update of a customer's spend features, of a merchant's risk. */
  spendFeatures: string;
  merchantRisk: string;
}

/** Topic names under KAFKA_TOPIC_PREFIX (which isolates tenants and tests). */
export function riskTopics(config: Pick<Config, 'KAFKA_TOPIC_PREFIX'>): RiskTopics {
  const prefix = config.KAFKA_TOPIC_PREFIX;
  return {
    transactions: `${prefix}transactions`,
    dlq: `${prefix}transactions.dlq`,
    scores: `${prefix}risk-scores`,
    byMerchant: `${prefix}transactions-by-merchant`,
    spendFeatures: `${prefix}customer-spend-features`,
    merchantRisk: `${prefix}merchant-risk`,
  };
}

export function riskGroupId(config: Pick<Config, 'KAFKA_TOPIC_PREFIX' | 'RISK_CONSUMER_GROUP'>): string {
  return `${config.KAFKA_TOPIC_PREFIX}${config.RISK_CONSUMER_GROUP}`;
}

/** The consumer group of a stream operator other than the risk scorer (one per stage), under KAFKA_TOPIC_PREFIX. */
export function operatorGroupId(config: Pick<Config, 'KAFKA_TOPIC_PREFIX'>, stage: string): string {
  return `${config.KAFKA_TOPIC_PREFIX}${stage}`;
}

/**
 * Creates the pipeline's topics explicitly (brokers should not auto-create them): `transactions`
 * and `risk-scores` with TRANSACTIONS_PARTITIONS partitions (both keyed by customer), the DLQ
 * with one, and the operators' topics with TRANSACTIONS_PARTITIONS (`transactions-by-merchant`
 * and `merchant-risk` keyed by merchant, `customer-spend-features` by customer). An existing topic is left as it is; a different partition count is reported, since
 * per-customer state follows the partitioning.
 */
export async function ensureRiskTopics(
  admin: Admin,
  config: Pick<Config, 'KAFKA_TOPIC_PREFIX' | 'TRANSACTIONS_PARTITIONS'>,
  logger: Logger,
): Promise<RiskTopics> {
  const topics = riskTopics(config);
  const wanted = [
    { topic: topics.transactions, numPartitions: config.TRANSACTIONS_PARTITIONS },
    { topic: topics.scores, numPartitions: config.TRANSACTIONS_PARTITIONS },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.byMerchant, numPartitions: config.TRANSACTIONS_PARTITIONS },
    { topic: topics.spendFeatures, numPartitions: config.TRANSACTIONS_PARTITIONS },
    { topic: topics.merchantRisk, numPartitions: config.TRANSACTIONS_PARTITIONS },
  ];
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter(({ topic }) => !existing.has(topic));
  if (missing.length) {
    await admin
      .createTopics({ topics: missing.map((topic) => ({ ...topic, replicationFactor: -1 })), waitForLeaders: false })
      .catch((error: { type?: string }) => {
        if (error?.type !== 'TOPIC_ALREADY_EXISTS') throw error; // created meanwhile by another process
      });
    await waitForLeaders(
      admin,
      missing.map(({ topic }) => topic),
    );
    logger.info({ topics: missing.map(({ topic }) => topic) }, 'created Kafka topics');
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [topics.transactions] });
  const partitions = metadata.topics[0]?.partitions.length ?? 0;
  if (partitions !== config.TRANSACTIONS_PARTITIONS) {
    logger.warn(
      { topic: topics.transactions, partitions, configured: config.TRANSACTIONS_PARTITIONS },
      'the transactions topic has another partition count than configured; using it as it is',
    );
  }
  return topics;
}

/** Errors of a topic the broker has created but not yet taken into its metadata. */
const NOT_YET_SERVED = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Resolves once every partition of `names` has a leader. kafkajs' own wait (`waitForLeaders`)
 * gives up at the first UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers for a moment
 * after the controller has accepted the topic (seen on a loaded machine).
 */
async function waitForLeaders(admin: Admin, names: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      if (topics.length === names.length && topics.every(({ partitions }) => partitions.length > 0 && partitions.every(({ leader }) => leader >= 0))) return;
    } catch (error) {
      if (!NOT_YET_SERVED.has((error as { type?: string }).type ?? '')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`Kafka: the topics ${names.join(', ')} have no leader ${timeoutMs / 1000} s after they were created`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
