import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, type Database } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';

export interface ThrowawayDatabase {
  /** Connection string of the new, empty database. */
  url: string;
  name: string;
  /** Drops the database (closing whatever is still connected to it). */
  drop(): Promise<void>;
}

/**
 * A new empty database on the server of `serverUrl` (the role needs CREATEDB), so a test file
 * can migrate and write without touching anyone else's data.
 */
export async function createThrowawayDatabase(serverUrl: string, prefix = 'tg_test'): Promise<ThrowawayDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => onServer(serverUrl, (client) => dropDatabase(client, name)),
  };
}

/**
 * Ends our own sessions on the database, then a plain DROP DATABASE, which also stops an
 * autovacuum worker busy there (WITH (FORCE) refuses to: the worker is not our role's). A pool
 * may reconnect in between, hence a few attempts.
 */
async function dropDatabase(client: Client, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()', [
      name,
    ]);
    try {
      await client.query(`DROP DATABASE IF EXISTS "${name}"`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 10) throw error; // object_in_use
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function onServer(serverUrl: string, work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** A service URL `npm test` provides (scripts/test.sh starts the services); fails loudly without it. */
export function serviceUrl(
  name:
    | 'DATABASE_URL'
    | 'REDIS_URL'
    | 'KAFKA_BROKERS'
    | 'STRIPE_API_BASE'
    | 'ARCHIVE_S3_ENDPOINT'
    | 'ARCHIVE_S3_BUCKET'
    | 'ARCHIVE_S3_ACCESS_KEY_ID'
    | 'ARCHIVE_S3_SECRET_ACCESS_KEY',
): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with \`npm test\`, which starts the real services`);
  return value;
}

/**
 * A throwaway database with every migration applied, for the tests of one file: created before
 * them, dropped after them. Call at describe level; the function it returns gives the database.
 */
export function useMigratedDatabase(): () => Database {
  let database: ThrowawayDatabase | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
    db = await openDatabase({ url: database.url, poolSize: 4 });
    await applyMigrations(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });
  return () => db!;
}
