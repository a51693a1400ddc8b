import type { Services } from '../../services';
import { startOperatorStage, type OperatorStage } from '../kafka/operator-consumer';
import { endsOf, replayRange } from '../kafka/replay';
import { operatorGroupId, riskTopics } from '../kafka/topics';
import type { OperatorView } from '../pipeline/keyed';
import { writeReplayedViews, type ReplayedViews } from '../pipeline/operator-sinks';
import { dropGroup } from '../pipeline/store';
import { AvroTransactionReader } from '../avro';
import { MERCHANT_RISK_PRODUCT, merchantRiskOperator } from './merchant-risk';
import { PRODUCT_OUTPUTS, type OperatorProduct } from './product-outputs';
import { spendFeaturesOperator } from './spend-features';

export interface OperatorReplayOptions {
  /** Consumer group (and state) of the replay; default a fresh `<prefix><product>-replay-<time>`. */
  groupId?: string;
  /** Keep the replay group's states and checkpoints afterwards (default: removed). */
  keepState?: boolean;
}

export interface OperatorReplayReport extends ReplayedViews {
  product: OperatorProduct;
  topic: string;
  groupId: string;
  /** Records read (valid or not): the stage's retained log when the replay started. */
  records: number;
  /** Keys whose view the replay computed. */
  views: number;
  seconds: number;
}

/**
 * Event sourcing for an operator's product: rebuilds its keyed states from the retained log of
 * the stage that computes its views (`transactions` for customer-spend-features; the
 * repartition topic `transactions-by-merchant` for merchant-risk, whose copies the stage drops
 * by source position) in a fresh consumer group beside the live operator, up to the log end
 * offsets taken at the start; then compares each key's view with the one in Redis and repairs it
 * where it is missing, older, or of the same version and different (the report counts each
 * case; 0 changed when live and replay agree). A view the live operator has moved past is left.
 * Nothing is published: topics and announcements belong to the live operator.
 */
export async function replayOperator(services: Services, product: OperatorProduct, options: OperatorReplayOptions = {}): Promise<OperatorReplayReport> {
  const { config } = services;
  const kafka = services.kafka;
  if (!kafka) throw new Error(`KAFKA_BROKERS is not set: replaying ${product} reads its stage's topic`);
  if (!services.redis) throw new Error(`REDIS_URL is not set: ${product}'s views are kept in Redis`);
  const topics = riskTopics(config);
  const topic = product === MERCHANT_RISK_PRODUCT ? topics.byMerchant : topics.transactions;
  const groupId = options.groupId ?? operatorGroupId(config, `${product}-replay-${Date.now()}`);
  const started = performance.now();
  const range = await replayRange(kafka, topic);
  const ends = endsOf(range);
  const source = { maxEventBytes: config.RISK_MAX_EVENT_BYTES, avro: new AvroTransactionReader(services.registry) };
  const records = [...range.values()].reduce((sum, { low, high }) => sum + high - low, 0);
  const stage: OperatorStage<unknown, unknown> = {
    operator: (product === MERCHANT_RISK_PRODUCT ? merchantRiskOperator() : spendFeaturesOperator(source)) as OperatorStage<unknown, unknown>['operator'],
    topic,
    groupId,
    // Views are compared once, at the end; what the live operator writes downstream is not written again.
    sinks: { write: async () => undefined, announce: async () => undefined },
    endOffsets: ends,
  };
  const admin = kafka.admin();
  await admin.connect();
  let views: OperatorView[] = [];
  try {
    const running = await startOperatorStage(services, admin, stage);
    try {
      await Promise.race([
        running.finished,
        running.crashed.then((error) => {
          throw error;
        }),
      ]);
      const view = stage.operator.view!.bind(stage.operator);
      views = [...ends.keys()].flatMap((partition) => [...(running.pipeline.statesOf(topic, partition) ?? [])].map(([key, state]) => view(key, state)));
    } finally {
      await running.stop();
    }
  } finally {
    await admin.disconnect();
  }
  const found = await writeReplayedViews(services.redis, config.REDIS_KEY_PREFIX, PRODUCT_OUTPUTS[product].namespace, views);
  if (!options.keepState) {
    await dropGroup(services.db.sql, groupId);
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  return { product, topic, groupId, records, views: views.length, ...found, seconds: Math.round((performance.now() - started) / 100) / 10 };
}
