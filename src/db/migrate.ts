import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { Pool } from 'pg';
import { migrationsDirectory } from './paths';
import { pgliteAdapterFactory, type PGlite } from './pglite';
import { NO_SCHEMA_FILTER, readMigrationList, toDriverAdapterError, withSchemaEngine } from './schema-engine';
import { postgresPoolConfig } from './postgres';

/**
 * Where to apply the migrations: a real Postgres by connection string, or an open embedded
 * PGlite. A `Database` from `openDatabase` is either (it carries `url` or `pglite`).
 */
export type MigrationTarget = { url: string } | { pglite: PGlite };

export interface ApplyMigrationsOptions {
  /** Defaults to this package's prisma/migrations. */
  migrationsDir?: string;
}

/**
 * Applies the pending migrations of prisma/migrations with Prisma's schema engine (WASM), like
 * `prisma migrate deploy`: records them in `_prisma_migrations`, applies nothing twice, and
 * fails on a migration whose file changed after it was applied or that failed before. Returns
 * the names of the migrations it applied (empty when the database was up to date).
 *
 * On Postgres the engine holds Prisma's advisory lock on its own single connection, so two
 * processes starting at once apply each migration once.
 */
export async function applyMigrations(target: MigrationTarget, options: ApplyMigrationsOptions = {}): Promise<string[]> {
  const migrationsList = await readMigrationList(options.migrationsDir ?? migrationsDirectory());
  if (migrationsList.migrationDirectories.length === 0) return [];

  const { factory, dispose } = await engineFactory(target);
  try {
    const output = await withSchemaEngine(factory, (engine) => engine.applyMigrations({ migrationsList, filters: NO_SCHEMA_FILTER }));
    return output.appliedMigrationNames;
  } finally {
    await dispose();
  }
}

/**
 * `prisma migrate resolve` for a failed migration: `rolled-back` after you undid what it left
 * behind (it will be applied again next time, e.g. once fixed), `applied` after you completed
 * it by hand (it will not be applied again).
 */
export async function resolveMigration(
  target: MigrationTarget,
  migrationName: string,
  as: 'rolled-back' | 'applied',
  options: ApplyMigrationsOptions = {},
): Promise<void> {
  const migrationsList = await readMigrationList(options.migrationsDir ?? migrationsDirectory());
  const { factory, dispose } = await engineFactory(target);
  try {
    await withSchemaEngine(factory, async (engine) => {
      if (as === 'rolled-back') await engine.markMigrationRolledBack({ migrationName });
      else await engine.markMigrationApplied({ migrationName, migrationsList });
    });
  } finally {
    await dispose();
  }
}

async function engineFactory(target: MigrationTarget): Promise<{ factory: SqlMigrationAwareDriverAdapterFactory; dispose: () => Promise<void> }> {
  if ('pglite' in target) return { factory: await pgliteAdapterFactory(target.pglite), dispose: async () => {} };
  return postgresMigrationFactory(target.url);
}

/**
 * adapter-pg for the engine, on a pool of exactly one connection: the engine's advisory lock
 * (`pg_advisory_lock(72707369)`) is per session, and ending the pool releases it.
 * adapter-pg's own `executeScript` splits the script on every `;` and runs the pieces one by
 * one (wrong for a `;` inside a string or function body, and not atomic); the script is sent
 * whole instead, as one simple query: one implicit transaction, as `prisma migrate` does.
 */
function postgresMigrationFactory(url: string): { factory: SqlMigrationAwareDriverAdapterFactory; dispose: () => Promise<void> } {
  const pool = new Pool({ ...postgresPoolConfig(url), max: 1, application_name: 'tollgraph-migrate' });
  pool.on('error', () => {
    // An idle connection dropped; the next query reports it.
  });
  const inner = new PrismaPg(pool);
  const fixScript = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    adapter.executeScript = async (script: string) => {
      try {
        await pool.query(script);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    };
    return adapter;
  };
  return {
    factory: {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: async () => fixScript(await inner.connect()),
      connectToShadowDb: () => Promise.reject(new Error('no shadow database: scripts/migration-diff.mjs diffs on a throwaway PGlite')),
    },
    dispose: () => pool.end(),
  };
}
