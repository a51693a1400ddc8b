import type { Config } from './config/schema';
import { applyMigrations } from './db/migrate';
import { createGateway } from './gateway/server';
import type { Logger } from './ops/logger';
import { seedPlans } from './plans/seed';
import { buildServices } from './services';

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/** The gateway role: services, schema migrations, seed data, then HTTP. */
export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  const services = await buildServices(config, logger);
  try {
    if (config.MIGRATE_ON_START) {
      const applied = await applyMigrations(services.db);
      if (applied.length) logger.info({ applied }, 'database migrations applied');
    }
    await seedPlans(services.db.prisma);
    const gateway = await createGateway(services);
    const url = await gateway.listen();
    return {
      url,
      stop: async () => {
        await gateway.stop();
        await services.close();
      },
    };
  } catch (error) {
    await services.close();
    throw error;
  }
}
