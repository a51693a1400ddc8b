/**
 * Where analytics SQL runs: ClickHouse's engine in-process (chdb), or a ClickHouse server for a
 * deployment that has one: the queries (src/analytics/queries.ts) are the same ClickHouse SQL.
 */
export interface AnalyticsEngine {
  /** Rows of a query with `{name:Type}` parameters bound by the engine (never spliced into the text). */
  query<Row>(sql: string, params?: Record<string, string | number>): Promise<Row[]>;
  close(): Promise<void>;
}

export class AnalyticsUnavailableError extends Error {}

/**
 * ClickHouse in this process (the optional dependency `chdb`, about 540 MB): loaded only by the
 * roles that run analytics, so the gateway and `npm start` never carry it. Queries run off the
 * event loop; the session's scratch directory (a temporary one) goes with it on close.
 */
export async function chdbEngine(): Promise<AnalyticsEngine> {
  let chdb: typeof import('chdb');
  try {
    chdb = await import('chdb');
  } catch (error) {
    throw new AnalyticsUnavailableError(
      `analytics needs the optional dependency chdb (ClickHouse's engine), which is not installed here: run npm install without --omit=optional (${(error as Error).message})`,
    );
  }
  const session = new chdb.Session();
  return {
    async query<Row>(sql: string, params: Record<string, string | number> = {}) {
      const result = await session.queryBindAsync(sql, params, { format: 'JSONEachRow' });
      const text = result.text();
      return text
        ? text
            .trimEnd()
            .split('\n')
            .map((line) => JSON.parse(line) as Row)
        : [];
    },
    async close() {
      session.cleanup();
    },
  };
}
