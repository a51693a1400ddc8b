import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { PGlite } from './pglite';

/**
 * Plain SQL on pg's pool or the embedded PGlite alike, for the hot paths (usage ledger, risk
 * pipeline) where Prisma's per-query work shows in the profile; everything else uses Prisma.
 */
export interface Sql {
  /** `name` makes it a prepared statement on Postgres (planned once per connection, not per call). */
  query<R>(text: string, params?: unknown[], name?: string): Promise<R[]>;
  /**
   * Bulk load: `COPY <table> (<columns>) FROM STDIN` with `rows` in COPY's text format. Postgres
   * parses the rows without planning a statement or building a parameter: a third of the server
   * CPU per row of an INSERT from JSON (bench/ingestion.ts, "history sink"). The rows come as
   * pieces of bytes, written in order (a piece may end anywhere between two rows).
   */
  copyIn(copy: string, rows: Buffer[]): Promise<void>;
}

export function poolSql(pool: Pool): Sql {
  return {
    query: async (text, params, name) => (await pool.query(name ? { name, text, values: params } : { text, values: params })).rows,
    copyIn: async (copy, rows) => {
      const client = await pool.connect();
      try {
        // The rows are bytes already: written and ended directly. stream.pipeline would add a
        // Readable and, as it finishes, an AbortController whose abort builds a DOMException with
        // its stack: 2-3× the client's CPU of a 20-row COPY (170-200 against 340-510 µs).
        // 'finish' comes once Postgres is ready for the next query (pg-copy-streams waits for it).
        const stream = client.query(copyFrom(`${copy} FROM STDIN`));
        await new Promise<void>((resolve, reject) => {
          stream.once('finish', resolve).once('error', reject);
          for (const piece of rows) stream.write(piece);
          stream.end();
        });
      } finally {
        client.release();
      }
    },
  };
}

export function pgliteSql(pglite: PGlite): Sql {
  return {
    query: async <R>(text: string, params?: unknown[]) => (await pglite.query<R>(text, params)).rows,
    // PGlite reads COPY's input from a blob it mounts as /dev/blob.
    copyIn: async (copy, rows) => void (await pglite.query(`${copy} FROM '/dev/blob'`, [], { blob: new Blob(rows) })),
  };
}

/** NULL in COPY's text format. */
export const COPY_NULL = '\\N';

/** A value in COPY's text format (tab-separated, `\N` for null): backslash, tab and line breaks escaped. */
export function copyText(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return COPY_NULL;
  const text = String(value);
  return COPY_SPECIAL.test(text) ? text.replace(COPY_ESCAPES, (c) => COPY_ESCAPE[c]) : text;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES = /[\\\t\n\r]/g;
const COPY_ESCAPE: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
