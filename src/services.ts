import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from './config/schema';
import { openDatabase, type Database } from './db/client';
import { createKafka } from './kafka/client';
import type { Logger } from './ops/logger';
import { createMetrics, type Metrics } from './ops/metrics';
import type { DependencyCheck } from './ops/readiness';
import { AccountService } from './accounts/service';
import { KeyService } from './keys/service';
import { PlanCatalog } from './plans/service';
import { memoryPubSub, redisPubSub, type PubSub } from './pubsub/pubsub';
import { connectRedis } from './redis/client';

/**
 * Everything built once per process and passed through the request context: no resolver or
 * plugin constructs a client. Unset service URLs select the embedded stand-ins.
 */
export interface Services {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  redis?: Redis;
  kafka?: Kafka;
  /** Fan-out to every gateway process (Redis), or within this one (embedded). */
  pubsub: PubSub;
  plans: PlanCatalog;
  accounts: AccountService;
  keys: KeyService;
  /** Dependencies `/readyz` checks: exactly the configured ones. */
  readiness: DependencyCheck[];
  /** Closes clients in reverse order of opening. */
  close(): Promise<void>;
}

export async function buildServices(config: Config, logger: Logger): Promise<Services> {
  const closers: Array<() => Promise<unknown>> = [];
  const readiness: DependencyCheck[] = [];

  const db = await openDatabase(
    config.DATABASE_URL
      ? {
          url: config.DATABASE_URL,
          poolSize: config.DATABASE_POOL_SIZE,
          onPoolError: (error) => logger.warn({ err: error }, 'idle Postgres connection failed'),
        }
      : { dataDir: config.DATA_DIR },
  );
  closers.push(() => db.close());
  readiness.push({ name: db.kind === 'postgres' ? 'postgres' : 'embedded-postgres', check: () => db.ping() });

  let redis: Redis | undefined;
  if (config.REDIS_URL) {
    const client = connectRedis(config.REDIS_URL, logger);
    redis = client;
    closers.push(() => client.quit().catch(() => client.disconnect()));
    readiness.push({ name: 'redis', check: async () => void (await client.ping()) });
  }

  let kafka: Kafka | undefined;
  if (config.KAFKA_BROKERS) {
    kafka = createKafka(config.KAFKA_BROKERS, config.KAFKA_CLIENT_ID, logger);
    const admin = kafka.admin({ retry: { retries: 0 } });
    closers.push(() => admin.disconnect());
    readiness.push({
      name: 'kafka',
      check: async () => {
        await admin.connect();
        await admin.describeCluster();
      },
    });
  }

  const pubsub = redis ? redisPubSub(redis, `${config.REDIS_KEY_PREFIX}events:`, logger) : memoryPubSub();
  closers.push(() => pubsub.close());
  const plans = await PlanCatalog.create(db.prisma, pubsub);
  const accounts = await AccountService.create(db.prisma, plans, pubsub);
  const keys = await KeyService.create(db.prisma, pubsub, config.NODE_ENV === 'production' ? 'live' : 'test', logger);
  closers.push(() => keys.close());

  return {
    config,
    logger,
    metrics: createMetrics(),
    db,
    redis,
    kafka,
    pubsub,
    plans,
    accounts,
    keys,
    readiness,
    close: async () => {
      for (const close of closers.reverse()) {
        await close().catch((error) => logger.warn({ err: error }, 'error while closing a client'));
      }
    },
  };
}
