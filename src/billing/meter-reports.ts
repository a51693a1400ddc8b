import type { Prisma, PrismaClient } from '../generated/prisma/client';

/** Stripe accepts meter events up to 35 days old; older usage is flagged, never sent, never dropped. */
export const STRIPE_MAX_EVENT_AGE_MS = 35 * 86_400_000;
/** Usage is reported per customer and UTC minute. */
export const WINDOW_MS = 60_000;

/**
 * The meter event identifier: derived from the account, the window and how many reports that
 * window already had, so it is fixed before the first attempt and every retry sends the same
 * one (Stripe deduplicates by it for at least 24 hours).
 */
export function meterIdentifier(accountId: string, windowStart: Date, sequence: number): string {
  return `tg-${accountId}-${windowStart.toISOString()}-${sequence}`;
}

interface PickedUsage {
  request_id: string;
  account_id: string;
  stripe_customer_id: string;
  window_start: Date;
  cost_units: number;
}

/** Ledger records per transaction: a backlog (after a Stripe or worker outage) goes in many short transactions. */
const ASSIGN_BATCH = 2_000;

/**
 * Outbox step 1: turn unreported ledger records of Stripe customers into meter reports, in
 * transactions of at most `batch` records until none is left. Records are claimed with SKIP
 * LOCKED, so concurrent workers take disjoint records, and each report is written with the records
 * it covers before anything is sent. Returns the reports created.
 */
export async function assignMeterReports(prisma: PrismaClient, eventName: string, now: Date, batch = ASSIGN_BATCH): Promise<number> {
  let reports = 0;
  for (;;) {
    const { picked, windows } = await assignBatch(prisma, eventName, now, batch);
    reports += windows;
    if (picked < batch) return reports;
  }
}

async function assignBatch(prisma: PrismaClient, eventName: string, now: Date, batch: number): Promise<{ picked: number; windows: number }> {
  return prisma.$transaction(async (tx) => {
    const picked = await tx.$queryRaw<PickedUsage[]>`
      SELECT u.request_id, u.account_id, a.stripe_customer_id, date_trunc('minute', u.occurred_at, 'UTC') AS window_start, u.cost_units
      FROM usage_records u JOIN accounts a ON a.id = u.account_id
      WHERE u.meter_report_id IS NULL AND a.stripe_customer_id IS NOT NULL AND u.occurred_at <= ${now}
      ORDER BY u.occurred_at
      LIMIT ${batch}
      FOR UPDATE OF u SKIP LOCKED`;
    const windows = new Map<string, PickedUsage[]>();
    for (const row of picked) {
      const key = `${row.account_id}|${row.window_start.toISOString()}`;
      const rows = windows.get(key);
      if (rows) rows.push(row);
      else windows.set(key, [row]);
    }
    for (const rows of windows.values()) await createReport(tx, rows, eventName, now);
    return { picked: picked.length, windows: windows.size };
  });
}

async function createReport(tx: Prisma.TransactionClient, rows: PickedUsage[], eventName: string, now: Date): Promise<void> {
  const { account_id: accountId, stripe_customer_id: stripeCustomerId, window_start: windowStart } = rows[0];
  // One writer per account and window at a time, so the sequence number is unique.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${accountId}|${windowStart.toISOString()}`}))`;
  const sequence = await tx.meterReport.count({ where: { accountId, windowStart } });
  const tooOld = now.getTime() - windowStart.getTime() > STRIPE_MAX_EVENT_AGE_MS;
  const report = await tx.meterReport.create({
    data: {
      identifier: meterIdentifier(accountId, windowStart, sequence),
      accountId,
      stripeCustomerId,
      eventName,
      windowStart,
      windowEnd: new Date(windowStart.getTime() + WINDOW_MS),
      units: rows.reduce((sum, row) => sum + row.cost_units, 0),
      status: tooOld ? 'TOO_OLD' : 'PENDING',
      lastError: tooOld ? 'older than Stripe accepts (35 days): bill it by hand' : null,
    },
  });
  await tx.usageRecord.updateMany({ where: { requestId: { in: rows.map((row) => row.request_id) } }, data: { meterReportId: report.id } });
}
