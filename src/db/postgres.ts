import { Client, type PoolConfig } from 'pg';
import { postgresTls } from '../config/tls';

/** How long a request waits for a pool connection before failing (never hangs on a dead server). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * pg settings for a `postgres://` / `postgresql://` URL. Prisma's `?schema=` parameter is not
 * supported (pg would ignore it silently and use `public`): isolate with a database instead.
 * TLS as libpq's `sslmode`, `sslrootcert`, `sslcert` and `sslkey` say (src/config/tls.ts).
 */
export function postgresPoolConfig(url: string, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): PoolConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('DATABASE_URL is not a valid URL (expected postgresql://user:pass@host:5432/db)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgresql:// (got ${parsed.protocol}//)`);
  }
  if (parsed.searchParams.has('schema')) {
    throw new Error('DATABASE_URL: the ?schema= parameter is not supported; use a separate database');
  }
  // The Prisma adapters read a timestamptz as if it were printed in UTC (they replace the
  // offset with +00:00), so every session runs in UTC whatever the server's default.
  const userOptions = parsed.searchParams.get('options');
  parsed.searchParams.delete('options');
  const { url: withoutTls, ssl } = postgresTls(parsed.toString());
  return {
    connectionString: withoutTls,
    ssl,
    options: [userOptions, '-c TimeZone=UTC'].filter(Boolean).join(' '),
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'tollgraph',
  };
}

/**
 * `SELECT 1` on a fresh connection, bounded by `timeoutMs` as a whole: answers quickly both when
 * the server refuses connections and when it does not answer at all, and does not depend on a
 * free slot in the application's pool.
 */
export async function pingPostgres(url: string, timeoutMs: number): Promise<void> {
  const client = new Client({ ...postgresPoolConfig(url, timeoutMs), query_timeout: timeoutMs, application_name: 'tollgraph-ping' });
  client.on('error', () => {
    // reported through the pending connect/query
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`postgres did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.query('SELECT 1');
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    client.end().catch(() => undefined);
  }
}
