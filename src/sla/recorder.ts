import type { Sql } from '../db/sql';
import type { Logger } from '../ops/logger';
import { BUCKETS, bucketOf } from './buckets';

interface Cell {
  accountId: string;
  hour: Date;
  operation: string;
  requests: number;
  serverErrors: number;
  buckets: number[];
}

const HOUR_MS = 3_600_000;

/**
 * Counts every answered request of an account in memory, per UTC hour and operation, and adds
 * the counts to `sla_hours` every `flushMs` (one statement for all of them): a few integer
 * increments per request on the hot path, a row per account, hour and operation in the database.
 * Counts not yet flushed when a process is killed are lost (at most `flushMs` of them); a clean
 * stop flushes.
 */
export class SlaRecorder {
  private cells = new Map<string, Cell>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    flushMs: number,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  record(accountId: string, operation: string, status: number, ms: number, at = Date.now()): void {
    const hourStart = at - (at % HOUR_MS);
    const key = `${accountId}\n${hourStart}\n${operation}`;
    let cell = this.cells.get(key);
    if (!cell)
      this.cells.set(
        key,
        (cell = { accountId, hour: new Date(hourStart), operation, requests: 0, serverErrors: 0, buckets: new Array<number>(BUCKETS).fill(0) }),
      );
    cell.requests++;
    if (status >= 500) cell.serverErrors++;
    cell.buckets[bucketOf(ms)]++;
  }

  /** Adds what was counted since the last flush to the table (one flush at a time). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.cells.size === 0) return;
      const cells = [...this.cells.values()];
      this.cells = new Map();
      const params: unknown[] = [];
      const rows = cells.map((cell) => {
        params.push(cell.accountId, cell.hour, cell.operation, cell.requests, cell.serverErrors, cell.buckets);
        const n = params.length;
        return `($${n - 5}::uuid, $${n - 4}::timestamptz, $${n - 3}, $${n - 2}::int, $${n - 1}::int, $${n}::int[])`;
      });
      try {
        await this.sql.query(
          `INSERT INTO sla_hours (account_id, hour, operation, requests, server_errors, latency_buckets) VALUES ${rows.join(', ')}
           ON CONFLICT (account_id, hour, operation) DO UPDATE SET
             requests = sla_hours.requests + EXCLUDED.requests,
             server_errors = sla_hours.server_errors + EXCLUDED.server_errors,
             latency_buckets = ARRAY(SELECT a + b FROM unnest(sla_hours.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY AS t(a, b, i) ORDER BY i)`,
          params,
        );
      } catch (error) {
        // Kept for the next flush rather than lost (the database may be back by then).
        for (const cell of cells) this.merge(cell);
        this.logger.warn({ err: error, cells: cells.length }, 'could not write the SLA counts; will retry');
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private merge(cell: Cell): void {
    const key = `${cell.accountId}\n${cell.hour.getTime()}\n${cell.operation}`;
    const known = this.cells.get(key);
    if (!known) {
      this.cells.set(key, cell);
      return;
    }
    known.requests += cell.requests;
    known.serverErrors += cell.serverErrors;
    for (let i = 0; i < BUCKETS; i++) known.buckets[i] += cell.buckets[i];
  }
}
