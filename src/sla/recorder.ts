import { randomUUID } from 'node:crypto';
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
/** How long a batch's id is remembered: a batch is sent again only while its process lives, within seconds. */
const FLUSH_IDS_KEPT = "interval '1 day'";
/** Forgetting old batch ids is done once in this many flushes. */
const PRUNE_EVERY = 100;

/** Counts taken out of memory to be added to the table, under one id, as many times as it takes. */
interface Batch {
  id: string;
  cells: Cell[];
}

/**
 * Counts every answered request of an account in memory, per UTC hour and operation, and adds
 * the counts to `sla_hours` every `flushMs` (one statement for all of them): a few integer
 * increments per request on the hot path, a row per account, hour and operation in the database.
 * Each flush is a batch with an id, recorded in `sla_flushes` by the same statement, so a batch
 * whose answer was lost (committed or not) is sent again as it was and counted once (after
 * OpenMeter and Lago's idempotent events); new counts go in the next batch. Counts not yet
 * flushed when a process is killed are lost (at most `flushMs` of them); a clean stop flushes.
 */
export class SlaRecorder {
  private cells = new Map<string, Cell>();
  /** Batches not yet known to be in the table, oldest first. */
  private readonly unsent: Batch[] = [];
  private flushes = 0;
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

  /** Adds what was counted since the last flush to the table, after any batch not yet known to be there (one flush at a time). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.cells.size) {
        this.unsent.push({ id: randomUUID(), cells: [...this.cells.values()] });
        this.cells = new Map();
      }
      while (this.unsent.length) {
        const batch = this.unsent[0];
        try {
          await this.add(batch);
        } catch (error) {
          // Kept as it is for the next flush (the database may be back by then, or the batch was in already).
          this.logger.warn({ err: error, batches: this.unsent.length, cells: batch.cells.length }, 'could not write the SLA counts; will retry');
          return;
        }
        this.unsent.shift();
        if (++this.flushes % PRUNE_EVERY === 0)
          await this.sql.query(`DELETE FROM sla_flushes WHERE flushed_at < now() - ${FLUSH_IDS_KEPT}`).catch(() => undefined);
      }
    });
    return this.flushing;
  }

  /** One statement: the batch's id is claimed, and only if it was new are its counts added. */
  private async add({ id, cells }: Batch): Promise<void> {
    const params: unknown[] = [id];
    const rows = cells.map((cell) => {
      params.push(cell.accountId, cell.hour, cell.operation, cell.requests, cell.serverErrors, cell.buckets);
      const n = params.length;
      return `($${n - 5}::uuid, $${n - 4}::timestamptz, $${n - 3}, $${n - 2}::int, $${n - 1}::int, $${n}::int[])`;
    });
    await this.sql.query(
      `WITH claimed AS (INSERT INTO sla_flushes (id) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING id)
       INSERT INTO sla_hours (account_id, hour, operation, requests, server_errors, latency_buckets)
       SELECT * FROM (VALUES ${rows.join(', ')}) AS batch WHERE EXISTS (SELECT 1 FROM claimed)
       ON CONFLICT (account_id, hour, operation) DO UPDATE SET
         requests = sla_hours.requests + EXCLUDED.requests,
         server_errors = sla_hours.server_errors + EXCLUDED.server_errors,
         latency_buckets = ARRAY(SELECT a + b FROM unnest(sla_hours.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY AS t(a, b, i) ORDER BY i)`,
      params,
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
