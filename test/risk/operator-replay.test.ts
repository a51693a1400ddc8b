import { replayOperator } from '../../src/risk/operators/replay';
import { PRODUCT_OUTPUTS, type OperatorProduct } from '../../src/risk/operators/product-outputs';
import { encodeVersioned, viewKey } from '../../src/risk/pipeline/operator-sinks';
import type { OperatorView } from '../../src/risk/pipeline/keyed';
import { runBuilt } from '../support/process';
import { distinctEvents, groupsOf, operatorProcess, storedViews, waitUntilGroupConsumed } from './operator-support';
import { riskEnv, traffic, type RiskEnv } from './support';

/**
 * `risk replay --operator <product>`: an operator's product rebuilt from its stage's log in a
 * fresh group, each key's view compared with the one the live operator left in Redis, and
 * repaired where it is missing or not what its events give; the report says which was which.
 */
describe('operator replay (real Kafka, Redis, Postgres)', () => {
  let env: RiskEnv;
  const records = traffic(3_000, 47, 150);
  const customers = [...new Set(distinctEvents(records).map((tx) => tx.customerId))];
  const merchants = [...new Set(distinctEvents(records).map((tx) => tx.merchantId))];

  beforeAll(async () => {
    env = await riskEnv({ TRANSACTIONS_PARTITIONS: '2', RISK_CHECKPOINT_INTERVAL_MS: '500' });
    await env.produce(records);
    // Both products computed live first, as they are in production.
    const spend = await operatorProcess(env.env, 'customer-spend-features');
    const merchant = await operatorProcess(env.env, 'merchant-risk');
    try {
      await waitUntilGroupConsumed(env, groupsOf(env, 'customer-spend-features').main, env.topics.transactions, 120_000);
      await waitUntilGroupConsumed(env, groupsOf(env, 'merchant-risk').repartition!, env.topics.transactions, 120_000);
      await waitUntilGroupConsumed(env, groupsOf(env, 'merchant-risk').main, env.topics.byMerchant, 120_000);
    } finally {
      await spend.kill('SIGTERM');
      await merchant.kill('SIGTERM');
    }
  }, 300_000);
  afterAll(async () => env?.close());

  /** One key's view deleted and another's altered at the same version (what a replay must notice and repair). */
  const damage = async (product: OperatorProduct, keys: string[]) => {
    const redis = env.services.redis!;
    const key = (id: string) => viewKey(env.config.REDIS_KEY_PREFIX, PRODUCT_OUTPUTS[product].namespace, id);
    const stored = await storedViews<OperatorView>(env, product, keys);
    const [deleted, altered] = [...stored.keys()];
    await redis.del(key(deleted));
    await redis.set(key(altered), encodeVersioned({ ...stored.get(altered)!, key: altered, tampered: true }));
    return stored;
  };

  /** What a replay reports after `damage`: one view restored, one repaired, the others as they were. */
  const repaired = (live: Map<string, unknown>) => ({ views: live.size, restored: 1, changed: 1, unchanged: live.size - 2, ahead: 0 });

  it('restores a deleted view, repairs an altered one and leaves the others (customer-spend-features)', async () => {
    const live = await damage('customer-spend-features', customers);
    const report = await replayOperator(env.services, 'customer-spend-features');
    expect(report).toMatchObject({ product: 'customer-spend-features', topic: env.topics.transactions, records: records.length, ...repaired(live) });
    expect(await storedViews(env, 'customer-spend-features', customers)).toEqual(live);
    // The replay's group is gone afterwards.
    expect(await env.services.db.sql.query('SELECT 1 FROM consumer_checkpoints WHERE group_id = $1', [report.groupId])).toEqual([]);
  }, 120_000);

  it('does the same for merchant-risk from the repartition topic, through the CLI; --from is refused for an operator', async () => {
    const live = await damage('merchant-risk', merchants);
    const replay = runBuilt('bin/tollgraph.js', { ...env.env, LOG_LEVEL: 'warn' }, ['risk', 'replay', '--operator', 'merchant-risk', '--json']);
    expect(await replay.exited).toBe(0);
    const report = JSON.parse(replay.output().trim().split('\n').pop()!);
    expect(report).toMatchObject({ product: 'merchant-risk', topic: env.topics.byMerchant, ...repaired(live) });
    expect(await storedViews(env, 'merchant-risk', merchants)).toEqual(live);

    const refused = runBuilt('bin/tollgraph.js', env.env, ['risk', 'replay', '--operator', 'merchant-risk', '--from', '2026-11-01T00:00:00Z']);
    expect(await refused.exited).not.toBe(0);
    expect(refused.output()).toContain('--from: only for risk-scores');
  }, 120_000);
});
