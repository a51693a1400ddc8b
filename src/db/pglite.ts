import type { PGlite } from '@electric-sql/pglite' with { 'resolution-mode': 'import' };
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { toDriverAdapterError } from './schema-engine';

export type { PGlite };

/**
 * PGlite (embedded Postgres compiled to WebAssembly) and its Prisma driver adapter are ES
 * modules loaded with a real `import()` (kept by `module: nodenext` in the CommonJS build, and
 * by swc's `ignoreDynamic` under jest, which then needs `--experimental-vm-modules`). Both come
 * from the same module system, so the adapter's `instanceof DatabaseError` checks see PGlite's
 * own errors class.
 */
export async function createPGlite(dataDir: string | undefined): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  // No dataDir: in memory. A path: Postgres' data directory on disk, kept across restarts.
  const pglite = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  // The Prisma adapter reads a timestamptz as if printed in UTC; PGlite has one session.
  await pglite.exec("SET TIME ZONE 'UTC'");
  return pglite;
}

/**
 * pglite-prisma-adapter's factory with one fix: its `executeScript` (the call the schema engine
 * applies each migration with) neither awaits PGlite nor reports the error, so a failing
 * migration would be recorded as applied. Here it runs the script through `exec` (simple query
 * protocol: the statements run in one implicit transaction, as on a real Postgres) and throws.
 */
export async function pgliteAdapterFactory(pglite: PGlite): Promise<SqlMigrationAwareDriverAdapterFactory> {
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  const inner = new PrismaPGlite(pglite);
  const fixScript = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    adapter.executeScript = async (script: string) => {
      try {
        await pglite.exec(script);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    };
    return adapter;
  };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => fixScript(await inner.connect()),
    connectToShadowDb: () => Promise.reject(new Error('no shadow database for the embedded Postgres')),
  };
}
