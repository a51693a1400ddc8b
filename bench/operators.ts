import type { BenchContext } from './context';
import { benchTopics, consumeOnce, produce } from './ingestion';
import { figure, type Figure } from './lib/stats';
import { createWorld } from './lib/world';

export interface OperatorsResult {
  events: number;
  partitions: number;
  /** events/s of the risk operator alone (one process). */
  riskAlone: Figure;
  /** events/s of each operator's process while all three consume the same topic at once (their own groups). */
  together: { risk: Figure; spendFeatures: Figure; merchantRisk: Figure };
  /** The three together keep up with the slowest of them: its rate over the risk operator's alone, paired per run. */
  slowestShare: Figure;
}

/**
 * Benchmark 10: the ingestion rate of the `transactions` stream with every stream operator
 * running (risk scores, customer-spend-features, merchant-risk with its repartition stage), each
 * in its own process and consumer group as deployed, against the risk operator alone, on one
 * pre-filled topic read from the beginning (fresh groups and empty state every run).
 */
export async function operatorsBenchmark(ctx: BenchContext): Promise<OperatorsResult> {
  const { smoke, log } = ctx;
  const world = await createWorld(ctx.urls);
  const kafka = await benchTopics(world);
  try {
    const events = smoke ? 20_000 : 200_000;
    await produce(kafka.producer, kafka.topics.transactions, events);
    const runs = smoke ? 1 : 2;
    const seconds = smoke ? 8 : 40;
    const sql = world.services.db.sql;
    const fresh = () => sql.query('TRUNCATE risk_scores, latest_risk_scores, risk_state_chunks, consumer_checkpoints');
    const alone: number[] = [];
    const together = { risk: [] as number[], spendFeatures: [] as number[], merchantRisk: [] as number[] };
    const slowest: number[] = [];
    for (let run = 0; run < runs; run++) {
      await fresh();
      alone.push((await consumeOnce(ctx, world, 'pipeline', kafka.topics.transactions, events, seconds)).perSecond);
      await fresh();
      const [risk, spend, merchant] = await Promise.all([
        consumeOnce(ctx, world, 'pipeline', kafka.topics.transactions, events, seconds),
        consumeOnce(ctx, world, 'operator:customer-spend-features', kafka.topics.transactions, events, seconds),
        consumeOnce(ctx, world, 'operator:merchant-risk', kafka.topics.transactions, events, seconds),
      ]);
      together.risk.push(risk.perSecond);
      together.spendFeatures.push(spend.perSecond);
      together.merchantRisk.push(merchant.perSecond);
      slowest.push(Math.min(risk.perSecond, spend.perSecond, merchant.perSecond) / alone[run]);
      log(
        `operators: risk alone ${Math.round(alone[run])} events/s; all three: risk ${Math.round(risk.perSecond)}, ` +
          `customer-spend-features ${Math.round(spend.perSecond)}, merchant-risk ${Math.round(merchant.perSecond)} events/s`,
      );
    }
    return {
      events,
      partitions: world.config.TRANSACTIONS_PARTITIONS,
      riskAlone: figure(alone),
      together: { risk: figure(together.risk), spendFeatures: figure(together.spendFeatures), merchantRisk: figure(together.merchantRisk) },
      slowestShare: figure(slowest),
    };
  } finally {
    await kafka.close();
    await world.close();
  }
}
