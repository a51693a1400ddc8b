import type { Prisma, PrismaClient } from '../generated/prisma/client';

/**
 * What billing reads and marks on the ledger: which records a meter report covers
 * (`meter_report_id`) and when Stripe got them (`reported_at`). Billing holds the reports; the
 * ledger only keeps these two marks, so rollups tell reported usage from pending on their own.
 */
type Db = PrismaClient | Prisma.TransactionClient;

export interface UnreportedRecord {
  requestId: string;
  accountId: string;
  occurredAt: Date;
  costUnits: number;
  /** The meter the record counts on (DEFAULT_METER: the plans'), and its data product. */
  meter: string;
  product: string | null;
}

/**
 * Up to `limit` of the accounts' records not in a meter report yet and stamped no later than
 * `through`, oldest first, locked until `tx` ends; records another transaction holds are skipped,
 * so concurrent workers take disjoint records.
 */
export function claimUnreported(tx: Prisma.TransactionClient, accountIds: string[], through: Date, limit: number): Promise<UnreportedRecord[]> {
  return tx.$queryRaw<UnreportedRecord[]>`
    SELECT request_id AS "requestId", account_id AS "accountId", occurred_at AS "occurredAt", cost_units AS "costUnits", meter, product
    FROM usage_records
    WHERE meter_report_id IS NULL AND account_id = ANY(${accountIds}::uuid[]) AND occurred_at <= ${through}
    ORDER BY occurred_at
    LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`;
}

export async function hasUnreported(db: Db, accountIds: string[]): Promise<boolean> {
  return (await db.usageRecord.findFirst({ where: { meterReportId: null, accountId: { in: accountIds } }, select: { requestId: true } })) !== null;
}

export async function assignToReport(tx: Prisma.TransactionClient, requestIds: string[], meterReportId: string): Promise<void> {
  await tx.usageRecord.updateMany({ where: { requestId: { in: requestIds } }, data: { meterReportId } });
}

/** Stripe has the report's usage: its records count as reported from `at`. */
export async function markReported(tx: Prisma.TransactionClient, meterReportId: string, at: Date): Promise<void> {
  await tx.usageRecord.updateMany({ where: { meterReportId }, data: { reportedAt: at } });
}

/** Cost units stamped in [from, to), per account, data product, meter and meter report (null: in none yet). */
export function unitsByReport(
  db: Db,
  from: Date,
  to: Date,
): Promise<Array<{ accountId: string; product: string | null; meter: string; meterReportId: string | null; units: number }>> {
  return db.$queryRaw`
    SELECT account_id AS "accountId", product, meter, meter_report_id AS "meterReportId", sum(cost_units)::int AS units
    FROM usage_records
    WHERE occurred_at >= ${from} AND occurred_at < ${to}
    GROUP BY account_id, product, meter, meter_report_id`;
}
