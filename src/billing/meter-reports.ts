import { stripeLinkedAccounts } from '../accounts/service';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { DEFAULT_METER } from '../metering/ledger';
import { assignToReport, claimUnreported, type UnreportedRecord } from '../metering/reporting';

/** Stripe accepts meter events up to 35 days old; older usage is flagged, never sent, never dropped. */
export const STRIPE_MAX_EVENT_AGE_MS = 35 * 86_400_000;
/** Usage is reported per customer and UTC minute. */
export const WINDOW_MS = 60_000;

/**
 * The meter event identifier: derived from the account, the window and how many reports that
 * window already had (of any meter or product: so reports of two products in one window differ),
 * so it is fixed before the first attempt and every retry sends the same one (Stripe deduplicates
 * by it for at least 24 hours).
 */
export function meterIdentifier(accountId: string, windowStart: Date, sequence: number): string {
  return `tg-${accountId}-${windowStart.toISOString()}-${sequence}`;
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
    const customers = await stripeLinkedAccounts(tx);
    const picked = await claimUnreported(tx, [...customers.keys()], now, batch);
    const windows = new Map<string, UnreportedRecord[]>();
    for (const record of picked) {
      // One report per meter and product: a product's add-on usage goes to its own Stripe meter.
      const key = `${record.accountId}|${windowOf(record).toISOString()}|${record.meter}|${record.product ?? ''}`;
      const records = windows.get(key);
      if (records) records.push(record);
      else windows.set(key, [record]);
    }
    for (const records of windows.values()) await createReport(tx, records, customers.get(records[0].accountId)!, eventName, now);
    return { picked: picked.length, windows: windows.size };
  });
}

function windowOf(record: UnreportedRecord): Date {
  return new Date(Math.floor(record.occurredAt.getTime() / WINDOW_MS) * WINDOW_MS);
}

/** The Stripe event name of a ledger meter: the plans' meter is configured (STRIPE_METER_EVENT_NAME); a product's meter is named by its event name. */
const eventNameOf = (meter: string, plansEventName: string) => (meter === DEFAULT_METER ? plansEventName : meter);

async function createReport(
  tx: Prisma.TransactionClient,
  records: UnreportedRecord[],
  stripeCustomerId: string,
  plansEventName: string,
  now: Date,
): Promise<void> {
  const { accountId, meter, product } = records[0];
  const windowStart = windowOf(records[0]);
  // One writer per account and window at a time, so the sequence number is unique.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${accountId}|${windowStart.toISOString()}`}))`;
  const sequence = await tx.meterReport.count({ where: { accountId, windowStart } });
  const tooOld = now.getTime() - windowStart.getTime() > STRIPE_MAX_EVENT_AGE_MS;
  const report = await tx.meterReport.create({
    data: {
      identifier: meterIdentifier(accountId, windowStart, sequence),
      accountId,
      stripeCustomerId,
      eventName: eventNameOf(meter, plansEventName),
      product,
      windowStart,
      windowEnd: new Date(windowStart.getTime() + WINDOW_MS),
      units: records.reduce((sum, record) => sum + record.costUnits, 0),
      status: tooOld ? 'TOO_OLD' : 'PENDING',
      lastError: tooOld ? 'older than Stripe accepts (35 days): bill it by hand' : null,
    },
  });
  await assignToReport(
    tx,
    records.map((record) => record.requestId),
    report.id,
  );
}
