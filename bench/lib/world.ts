import { prepareServices } from '../../src/app';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { TransactionFeed } from '../../src/feed/generator';
import { createLogger } from '../../src/ops/logger';
import { decodeTransaction } from '../../src/risk/contract';
import { assess } from '../../src/risk/model/score';
import { appendHistory, scoreRow, type ScoreRow } from '../../src/risk/pipeline/store';
import { newCustomerState, type CustomerState } from '../../src/risk/model/types';
import { encodeLatest, latestKey, scoreView, type RiskScoreView } from '../../src/risk/view';
import type { Services } from '../../src/services';
import { createThrowawayDatabase } from '../../test/support/throwaway-database';
import { suffix, type ServiceName } from './common';

const ACTOR = { type: 'system:bench' } as const;

/**
 * One benchmark run's own world on the real services: a throwaway Postgres database (migrated
 * and seeded by the production start-up code), its own Redis key prefix and Kafka topic prefix,
 * and an ENTERPRISE subscriber whose limits are lifted so the limiter never refuses load (every
 * request still goes through the Redis reserve/refund).
 */
export interface World {
  /** The environment of every gateway and consumer process of this run. */
  env: Record<string, string>;
  config: Config;
  services: Services;
  apiKey: string;
  accountId: string;
  apiKeyId: string;
  close(): Promise<void>;
}

export async function createWorld(urls: Record<ServiceName, string>, extra: Record<string, string> = {}): Promise<World> {
  const database = await createThrowawayDatabase(urls.DATABASE_URL, 'tg_bench');
  const id = suffix();
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: urls.REDIS_URL,
    KAFKA_BROKERS: urls.KAFKA_BROKERS,
    REDIS_KEY_PREFIX: `tg-bench-${id}:`,
    KAFKA_TOPIC_PREFIX: `tg-bench-${id}-`,
    TRANSACTIONS_PARTITIONS: '10',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    BILLING_SYNC_IN_GATEWAY: 'false',
    ...extra,
  };
  const config = loadConfig({ ...env });
  let services: Services;
  try {
    services = await prepareServices(config, createLogger(config));
  } catch (error) {
    await database.drop();
    throw error;
  }
  const account = await services.accounts.create({ name: 'Bench', email: `bench-${id}@example.com`, planCode: 'ENTERPRISE' }, ACTOR);
  await services.accounts.setOverrides(account.id, { burstPerSecond: 2_000_000_000, dailyQuota: 2_000_000_000, maxQueryCost: 100_000 }, ACTOR);
  const { secret, key } = await services.keys.create({ accountId: account.id, name: 'bench', role: 'SUBSCRIBER' }, ACTOR);
  return {
    env,
    config,
    services,
    apiKey: secret,
    accountId: account.id,
    apiKeyId: key.id,
    close: async () => {
      // Everything this world (and its consumer processes, under sub-prefixes) put in Redis.
      await unlinkPrefix(services.redis!, env.REDIS_KEY_PREFIX).catch(() => undefined);
      await services.close();
      await database.drop();
    },
  };
}

async function unlinkPrefix(redis: NonNullable<Services['redis']>, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5_000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Latest scores for customers `c-000001`…: real model output for synthetic traffic, written to
 * Redis exactly as the pipeline writes them (encodeLatest), so `riskScore` reads a realistic value.
 */
/**
 * Scores of `customers` customers, four events each an hour ago: each one's latest in Redis (what
 * `riskScore(s)` reads) and all of them in the history (what `riskHistory` reads).
 */
export async function seedScores(world: World, customers: number): Promise<string[]> {
  const feed = new TransactionFeed({ seed: 7, customers, rate: 1000, start: Date.now() - 3_600_000, duplicates: 0, invalid: 0, outOfOrder: 0, late: 0 });
  const states = new Map<string, CustomerState>();
  const latest = new Map<string, RiskScoreView>();
  const history: ScoreRow[] = [];
  for (let i = 0; i < customers * 4; i++) {
    const message = feed.next();
    const decoded = decodeTransaction(message.value, message.key, 4096);
    if (!decoded.ok) continue;
    const { tx } = decoded;
    let state = states.get(tx.customerId);
    if (!state) states.set(tx.customerId, (state = newCustomerState()));
    const result = assess(state, tx);
    const view = scoreView(tx, result, new Date().toISOString());
    latest.set(tx.customerId, view);
    history.push(scoreRow(view, tx, null));
  }
  const redis = world.services.redis!;
  const views = [...latest.values()];
  for (let i = 0; i < views.length; i += 1000) {
    const part = views.slice(i, i + 1000);
    await redis.mset(part.flatMap((view) => [latestKey(world.config.REDIS_KEY_PREFIX, view.customerId), encodeLatest(view)]));
  }
  await appendHistory(world.services.db.sql, [history], 'live');
  await world.services.db.sql.query('ANALYZE risk_scores');
  return views.map((view) => view.customerId);
}

/**
 * Synthetic traffic: the feed's realistic customers and fraud, no broken messages (a benchmark
 * measures the happy path). `clean`: no redeliveries and no disorder either (freshness stamps
 * every event with the time it is produced).
 */
export function benchFeed(options: { customers: number; rate: number; start: number; seed?: number; clean?: boolean }): TransactionFeed {
  const clean = options.clean ? { duplicates: 0, outOfOrder: 0, late: 0 } : {};
  return new TransactionFeed({ seed: options.seed ?? 11, customers: options.customers, rate: options.rate, start: options.start, invalid: 0, ...clean });
}
