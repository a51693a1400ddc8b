import type { Sql } from '../db/sql';
import type { PlanCode } from '../generated/prisma/client';
import type { Logger } from '../ops/logger';

export const DEFAULT_METER = 'api_cost_units';

/** One billable operation, as the ledger keeps it. */
export interface UsageEntry {
  requestId: string;
  accountId: string;
  apiKeyId: string | null;
  planCode: PlanCode;
  operation: string;
  costUnits: number;
  occurredAt: Date;
  /** The data product (slug) of the charged fields; null or absent: fields of no product. */
  product?: string | null;
  /** The billing meter; absent: the plans' meter (DEFAULT_METER). A product's own meter for usage through its add-on. */
  meter?: string;
}

interface Pending {
  entry: UsageEntry;
  resolve(): void;
  reject(error: Error): void;
}

/** One group-committed write, for metrics. */
export interface LedgerWrite {
  records: number;
  seconds: number;
  ok: boolean;
}

export interface LedgerOptions {
  /** The longest a record waits for company: while a write is in flight (with none, it is written at once). */
  flushMs: number;
  /** A batch this large is written at once. */
  maxBatch: number;
  /** Told of every write when it ends. */
  onWrite?: (write: LedgerWrite) => void;
  /** Where a batch is made durable; absent: the ledger's table (`insertUsage`). The spool (src/metering/spool.ts) is the other. */
  sink?: (entries: UsageEntry[]) => Promise<void>;
}

/**
 * One statement text for any batch size (column arrays, unnested), so Postgres prepares it once
 * per connection instead of parsing and planning a new multi-row VALUES list for every batch.
 */
const INSERT_BATCH = `INSERT INTO usage_records (request_id, account_id, api_key_id, plan_code, operation, meter, cost_units, occurred_at, product)
  SELECT r, a, k, p::"PlanCode", o, m, c, t, d
  FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::timestamptz[], $9::text[]) AS u(r, a, k, p, o, m, c, t, d)
  ON CONFLICT (request_id) DO NOTHING`;

/**
 * The usage ledger with group commit: concurrent `record` calls share one multi-row INSERT, and
 * each caller resumes only when its row is durable. The primary key is the server's request id,
 * so a retried batch inserts nothing twice.
 *
 * When no write is in flight, what was recorded in this turn of the event loop is written at
 * once (no timer to wait for at low load); while one is in flight, records gather and are
 * written when it ends, or after `flushMs` at the latest, or as soon as `maxBatch` are waiting.
 * So batches grow with the load by themselves, and a quiet gateway adds one round trip, not a
 * timer, to each response.
 */
export class UsageLedger {
  private batch: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly sql: Sql,
    private readonly options: LedgerOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Resolves once the entries are committed; rejects if they could not be (the caller must not
   * serve unbilled). One request's entries (one per data product) go in the same batch, so they
   * are committed together or not at all: a withheld answer never leaves part of its bill.
   */
  record(...entries: UsageEntry[]): Promise<void> {
    const committed = entries.map((entry) => new Promise<void>((resolve, reject) => this.batch.push({ entry, resolve, reject })));
    if (this.batch.length >= this.options.maxBatch) this.flush();
    else if (this.inFlight.size === 0) this.immediate ??= setImmediate(() => this.flush());
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushMs);
    // Most requests charge fields of one product: one promise, no Promise.all and no extra hop.
    return committed.length === 1 ? committed[0] : Promise.all(committed).then(() => undefined);
  }

  /** Cost units each account has recorded since `since` (a process that keeps its limits in memory starts from these). */
  async usedSince(since: Date): Promise<Array<{ accountId: string; units: number }>> {
    const rows = await this.sql.query<{ account_id: string; units: string }>(
      'SELECT account_id, sum(cost_units) AS units FROM usage_records WHERE occurred_at >= $1 GROUP BY account_id',
      [since],
    );
    return rows.map((row) => ({ accountId: row.account_id, units: Number(row.units) }));
  }

  /** Writes what is queued now and waits for every write in flight (shutdown). */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    const began = performance.now();
    const ended = (ok: boolean) => this.options.onWrite?.({ records: batch.length, seconds: (performance.now() - began) / 1000, ok });
    const entries = batch.map((pending) => pending.entry);
    const write = (this.options.sink ? this.options.sink(entries) : insertUsage(this.sql, entries)).then(
      () => {
        ended(true);
        for (const pending of batch) pending.resolve();
      },
      (error: Error) => {
        ended(false);
        this.logger.error({ err: error, records: batch.length }, 'usage ledger write failed');
        for (const pending of batch) pending.reject(error);
      },
    );
    this.inFlight.add(write);
    void write.finally(() => {
      this.inFlight.delete(write);
      // What gathered while this write was in flight goes now.
      if (this.batch.length) this.flush();
    });
  }
}

/** Inserts a batch into the ledger's table in one statement; a record already there (same request id) is left as it is. */
export async function insertUsage(sql: Sql, entries: UsageEntry[]): Promise<void> {
  const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
  for (const entry of entries) {
    const row = [
      entry.requestId,
      entry.accountId,
      entry.apiKeyId,
      entry.planCode,
      entry.operation,
      entry.meter ?? DEFAULT_METER,
      entry.costUnits,
      entry.occurredAt,
      entry.product ?? null,
    ];
    for (let c = 0; c < row.length; c++) columns[c].push(row[c]);
  }
  await sql.query(INSERT_BATCH, columns, 'usage-ledger-insert');
}

/**
 * The same insert from a JSON array of records in the spool's line format (src/metering/spool.ts),
 * parsed by PostgreSQL: the gateway ships a segment without parsing or re-encoding a record.
 * Answers how many records the document held and the range of their times (ms since the epoch).
 */
const INSERT_JSON = `WITH u AS (
    SELECT * FROM json_to_recordset($1::json) AS x(r text, a uuid, k uuid, p text, o text, m text, c int, t bigint, d text)
  ), inserted AS (
    INSERT INTO usage_records (request_id, account_id, api_key_id, plan_code, operation, meter, cost_units, occurred_at, product)
    SELECT r, a, k, p::"PlanCode", o, m, c, 'epoch'::timestamptz + t * interval '1 millisecond', d FROM u
    ON CONFLICT (request_id) DO NOTHING
  )
  SELECT count(*)::int AS records, min(t)::float8 AS first, max(t)::float8 AS last FROM u`;

/** What one JSON document held: records, and the first and last record time (ms since the epoch; null if none). */
export interface InsertedDocument {
  records: number;
  first: number | null;
  last: number | null;
}

export async function insertUsageJson(sql: Sql, json: string): Promise<InsertedDocument> {
  const [row] = await sql.query<InsertedDocument>(INSERT_JSON, [json], 'usage-ledger-insert-json');
  return row;
}

/** A ledger record as readers outside the hot path see it: the entry and its meter. */
export type LedgerRecord = UsageEntry & { meter: string };

/**
 * The ledger's records with `from <= occurredAt < to`, in request id order, for readers of whole
 * time ranges (the archive). The ledger is append-only: a range whose end has passed by more
 * than a write's lifetime does not change any more.
 */
export async function ledgerRecords(sql: Sql, from: Date, to: Date): Promise<LedgerRecord[]> {
  const rows = await sql.query<{
    request_id: string;
    account_id: string;
    api_key_id: string | null;
    plan_code: PlanCode;
    operation: string;
    meter: string;
    cost_units: number;
    occurred_at: Date;
    product: string | null;
  }>(
    `SELECT request_id, account_id, api_key_id, plan_code::text AS plan_code, operation, meter, cost_units, occurred_at, product FROM usage_records
     WHERE occurred_at >= $1 AND occurred_at < $2 ORDER BY request_id`,
    [from, to],
  );
  return rows.map((row) => ({
    requestId: row.request_id,
    accountId: row.account_id,
    apiKeyId: row.api_key_id,
    planCode: row.plan_code,
    operation: row.operation,
    meter: row.meter,
    costUnits: row.cost_units,
    occurredAt: new Date(row.occurred_at),
    product: row.product,
  }));
}

/** When the first record at or after `from` was made (undefined: none). */
export async function nextLedgerTime(sql: Sql, from: Date): Promise<Date | undefined> {
  const [row] = await sql.query<{ at: Date | null }>(`SELECT min(occurred_at) AS at FROM usage_records WHERE occurred_at >= $1`, [from]);
  return row.at ? new Date(row.at) : undefined;
}
