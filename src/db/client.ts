import { PrismaPg } from '@prisma/adapter-pg';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { processAlive } from '../ops/process-alive';
import { createPGlite, pgliteAdapterFactory, type PGlite } from './pglite';
import { DEFAULT_CONNECT_TIMEOUT_MS, pingPostgres, postgresPoolConfig } from './postgres';
import { pgliteSql, poolSql, type Sql } from './sql';

export { PrismaClient };
export type { PGlite, Sql };

export type OpenDatabaseOptions =
  | {
      /** A real PostgreSQL (`DATABASE_URL`). */
      url: string;
      /** Connections in the pool (default 10). */
      poolSize?: number;
      /** How long a query waits for a connection before failing (default 5 s). */
      connectTimeoutMs?: number;
      /** Errors of idle pool connections (e.g. the server restarted); default: ignored. */
      onPoolError?: (error: Error) => void;
    }
  | {
      /** The application's data folder (`DATA_DIR`); the database lives in `<dataDir>/pglite`. */
      dataDir: string;
    };

interface DatabaseBase {
  prisma: PrismaClient;
  /** Plain SQL on the same database, for hot paths. */
  sql: Sql;
  /** `SELECT 1` within `timeoutMs` (default 2 s); rejects when the database does not answer. */
  ping(timeoutMs?: number): Promise<void>;
  /** Disconnects the client and closes the pool or the embedded database. Idempotent. */
  close(): Promise<void>;
}

export interface PostgresDatabase extends DatabaseBase {
  kind: 'postgres';
  /** The connection string (contains the password: do not log it). */
  url: string;
  pool: Pool;
}

export interface EmbeddedDatabase extends DatabaseBase {
  kind: 'embedded';
  /** Postgres' own data directory inside DATA_DIR. */
  directory: string;
  pglite: PGlite;
}

/** Pass it to `applyMigrations` as is: it carries `url` or `pglite`. */
export type Database = PostgresDatabase | EmbeddedDatabase;

const DEFAULT_PING_TIMEOUT_MS = 2_000;

/**
 * Interactive transactions may wait 10 s for a connection and run 30 s: Prisma's defaults (2 s, 5 s)
 * aborted work a busy database finishes (a billing pass assigning 2,000 records to meter reports
 * timed out at 5 s on a loaded machine), and a retry then did it all again.
 */
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 };

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return 'url' in options ? openPostgres(options) : openEmbedded(options.dataDir);
}

function openPostgres(options: Extract<OpenDatabaseOptions, { url: string }>): PostgresDatabase {
  const pool = new Pool({
    ...postgresPoolConfig(options.url, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    max: options.poolSize ?? 10,
  });
  // Without a listener an idle connection's error (server restarted) would crash the process.
  pool.on('error', (error) => options.onPoolError?.(error));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions: TRANSACTION_OPTIONS });
  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    url: options.url,
    pool,
    prisma,
    sql: poolSql(pool),
    ping: (timeoutMs = DEFAULT_PING_TIMEOUT_MS) => pingPostgres(options.url, timeoutMs),
    close: () =>
      (closed ??= (async () => {
        await prisma.$disconnect().catch(() => undefined);
        await pool.end();
      })()),
  };
}

async function openEmbedded(dataDir: string): Promise<EmbeddedDatabase> {
  const directory = resolve(dataDir, 'pglite');
  mkdirSync(directory, { recursive: true });
  const unlock = lockDirectory(directory, join(resolve(dataDir), 'pglite.pid'));
  let pglite: PGlite;
  try {
    pglite = await createPGlite(directory);
  } catch (error) {
    unlock();
    throw error;
  }
  const prisma = new PrismaClient({ adapter: await pgliteAdapterFactory(pglite), transactionOptions: TRANSACTION_OPTIONS });
  let closed: Promise<void> | undefined;
  return {
    kind: 'embedded',
    directory,
    pglite,
    prisma,
    sql: pgliteSql(pglite),
    ping: (timeoutMs = DEFAULT_PING_TIMEOUT_MS) => withTimeout(pglite.query('SELECT 1'), timeoutMs, 'the embedded database'),
    close: () =>
      (closed ??= (async () => {
        try {
          await prisma.$disconnect().catch(() => undefined);
          await pglite.close();
        } finally {
          unlock();
        }
      })()),
  };
}

// --- one process per data directory ------------------------------------------------------------
// PGlite is a single-user Postgres: two processes (or two instances in one process) writing the
// same data directory corrupt it. A pid file refuses the second opener; a stale one (its process
// is gone, e.g. after SIGKILL) is taken over.

const openDirectories = new Set<string>();

function lockDirectory(directory: string, lockFile: string): () => void {
  if (openDirectories.has(directory)) throw new Error(`the embedded database in ${directory} is already open in this process`);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
        throw new Error(`the embedded database in ${directory} is in use by process ${pid}`);
      }
      rmSync(lockFile, { force: true });
    }
  }
  openDirectories.add(directory);
  return () => {
    if (!openDirectories.delete(directory)) return;
    try {
      if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) rmSync(lockFile, { force: true });
    } catch {
      // already gone
    }
  };
}

async function withTimeout(work: Promise<unknown>, timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
