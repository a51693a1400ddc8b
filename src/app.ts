import type { Config } from './config/schema';
import { startBillingWorker } from './billing/worker';
import { ensureDemoKeys, type DemoKeys } from './bootstrap/demo-keys';
import { applyMigrations } from './db/migrate';
import { createGateway } from './gateway/server';
import type { Logger } from './ops/logger';
import { seedPlans } from './plans/seed';
import { startInProcessFeed } from './feed/in-process';
import { seedDataProducts } from './catalog/seed';
import { buildServices, type Services } from './services';
import { utcDay } from './limits/quota-window';
import { tuneHeap } from './ops/heap-tuning';

export interface RunningGateway {
  url: string;
  /** Created (or found again) by the embedded start; undefined with a real database. */
  demoKeys?: DemoKeys;
  services: Services;
  stop(): Promise<void>;
}

/** Services with the database migrated and seeded: what every role (gateway, CLI, workers) starts from. */
export async function prepareServices(config: Config, logger: Logger): Promise<Services> {
  const services = await buildServices(config, logger);
  try {
    if (config.MIGRATE_ON_START) {
      const applied = await applyMigrations(services.db);
      if (applied.length) logger.info({ applied }, 'database migrations applied');
    }
    await seedPlans(services.db.prisma);
    await seedDataProducts(services.db.prisma);
    return services;
  } catch (error) {
    await services.close();
    throw error;
  }
}

/** The gateway role: prepared services, then HTTP. */
export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  tuneHeap();
  const services = await prepareServices(config, logger);
  try {
    const demoKeys = services.db.kind === 'embedded' ? await ensureDemoKeys(services, config.DATA_DIR) : undefined;
    if (!services.redis) {
      await services.limits.restoreDaily(await services.ledger.usedSince(new Date(utcDay().start)), (id) => services.accounts.access(id));
    }
    const gateway = await createGateway(services);
    const url = await gateway.listen();
    // Fully embedded (no database, no broker configured): live scores from the synthetic feed, in-process.
    const feed =
      !config.KAFKA_BROKERS && !config.DATABASE_URL && config.FEED_RATE > 0
        ? await startInProcessFeed(services, { rate: config.FEED_RATE, customers: config.FEED_CUSTOMERS })
        : undefined;
    const stopBilling = config.BILLING_SYNC_IN_GATEWAY ? startBillingWorker(services) : undefined;
    return {
      url,
      demoKeys,
      services,
      stop: async () => {
        await feed?.stop();
        await gateway.stop();
        await stopBilling?.();
        await services.close();
      },
    };
  } catch (error) {
    await services.close();
    throw error;
  }
}
