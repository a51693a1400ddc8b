import type { PGlite } from './pglite';
import type { Pool } from 'pg';

/**
 * Plain SQL on pg's pool or the embedded PGlite alike, for the hot paths (usage ledger, risk
 * pipeline) where Prisma's per-query work shows in the profile; everything else uses Prisma.
 */
export interface Sql {
  /** `name` makes it a prepared statement on Postgres (planned once per connection, not per call). */
  query<R>(text: string, params?: unknown[], name?: string): Promise<R[]>;
}

export function poolSql(pool: Pool): Sql {
  return { query: async (text, params, name) => (await pool.query(name ? { name, text, values: params } : { text, values: params })).rows };
}

export function pgliteSql(pglite: PGlite): Sql {
  return { query: async <R>(text: string, params?: unknown[]) => (await pglite.query<R>(text, params)).rows };
}
