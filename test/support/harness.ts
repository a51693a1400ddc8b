import { randomBytes } from 'node:crypto';
import { startGateway, type RunningGateway } from '../../src/app';
import type { ApiKeyRole, PlanCode } from '../../src/generated/prisma/enums';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/ops/logger';
import type { Services } from '../../src/services';
import { freePort, graphql } from './process';
import { createThrowawayDatabase, serviceUrl, type ThrowawayDatabase } from './throwaway-database';

const SYSTEM = { type: 'system:test' } as const;

export interface TestGateway {
  url: string;
  services: Services;
  database: ThrowawayDatabase;
  /** Environment that points another gateway (e.g. a child process) at the same database, Redis prefix and settings. */
  env: Record<string, string>;
  /** A new account on `plan` with one key of `role`; returns the secret. */
  newKey(options?: { plan?: PlanCode; role?: ApiKeyRole; domains?: string[] }): Promise<{ accountId: string; keyId: string; key: string }>;
  query(query: string, options?: { key?: string; variables?: Record<string, unknown>; headers?: Record<string, string> }): ReturnType<typeof graphql>;
  stop(): Promise<void>;
}

/**
 * A gateway of this test file's own, in-process, on the real services: its own Postgres
 * database (migrated and seeded by the same start-up code as production), its own Redis key
 * prefix, a free port.
 */
/**
 * Plan-aware shedding answers 503 when the process is saturated, which a shared test machine
 * makes it now and then: off unless a test turns it on (test/limits/overload.test.ts does), so
 * every other test sees the same answers whatever the machine is doing.
 */
const SHEDDING_OFF = { OVERLOAD_SHEDDING: 'false' } as const;

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL: serviceUrl('REDIS_URL'),
    REDIS_KEY_PREFIX: `tg-test-${randomBytes(4).toString('hex')}:`,
    ...SHEDDING_OFF,
    ...env,
  };
  const config = loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', ...shared, PORT: String(await freePort()) });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(config, createLogger(config));
  } catch (error) {
    await database.drop();
    throw error;
  }
  const { services, url } = gateway;
  return {
    url,
    services,
    database,
    env: shared,
    newKey: async ({ plan = 'FREE', role = 'SUBSCRIBER', domains } = {}) => {
      const suffix = randomBytes(6).toString('hex');
      const account = await services.accounts.create({ name: `Test ${suffix}`, email: `test-${suffix}@example.com`, planCode: plan }, SYSTEM);
      const { secret, key } = await services.keys.create({ accountId: account.id, name: 'test', role, domains }, SYSTEM);
      return { accountId: account.id, keyId: key.id, key: secret };
    },
    query: (query, { key, variables, headers = {} } = {}) =>
      graphql(url, query, { variables, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } }),
    stop: async () => {
      await gateway.stop();
      await database.drop();
    },
  };
}
