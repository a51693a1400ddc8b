import type Stripe from 'stripe';
import { stripeCustomersOf } from '../accounts/service';
import type { PrismaClient } from '../generated/prisma/client';
import type { MeterReportStatus } from '../generated/prisma/enums';
import { unitsByReport } from '../metering/reporting';

export interface WindowDiscrepancy {
  windowStart: Date;
  windowEnd: Date;
  reportedUnits: number;
  stripeUnits: number;
  cause: string;
}

export interface AccountReconciliation {
  accountId: string;
  stripeCustomerId: string | null;
  /** Every billable unit served in the range. */
  ledgerUnits: number;
  /** Units Stripe confirmed receiving (reports SENT). */
  reportedUnits: number;
  /** Units not reported yet, and why. */
  pendingUnits: number;
  failedUnits: number;
  tooOldUnits: number;
  /** What Stripe's meter holds for the customer in the range; null when it was not asked. */
  stripeUnits: number | null;
  /** Ledger units not accounted for by reported, pending, failed or too-old ones, plus reported units Stripe does not hold. */
  difference: number;
  causes: string[];
  windows: WindowDiscrepancy[];
}

interface Row {
  accountId: string;
  stripeCustomerId: string | null;
  /** Null: the units are in no meter report yet. */
  status: MeterReportStatus | null;
  units: number;
}

const HOUR = 3_600_000;

/**
 * Ledger against what was reported, per account over [from, to): every unit is either
 * reported, pending (with its cause), failed or too old; and, when Stripe is configured, what
 * each customer's meter holds per hour against what we reported, naming each window that differs.
 */
export async function reconcile(
  prisma: PrismaClient,
  stripe: Stripe | undefined,
  meterId: string | undefined,
  from: Date,
  to: Date,
): Promise<AccountReconciliation[]> {
  const accounts = new Map<string, AccountReconciliation>();
  for (const row of await unitsByStatus(prisma, from, to)) {
    const entry =
      accounts.get(row.accountId) ??
      ({
        accountId: row.accountId,
        stripeCustomerId: row.stripeCustomerId,
        ledgerUnits: 0,
        reportedUnits: 0,
        pendingUnits: 0,
        failedUnits: 0,
        tooOldUnits: 0,
        stripeUnits: null,
        difference: 0,
        causes: [],
        windows: [],
      } satisfies AccountReconciliation);
    accounts.set(row.accountId, entry);
    entry.ledgerUnits += row.units;
    if (row.status === 'SENT') entry.reportedUnits += row.units;
    else if (row.status === 'FAILED') {
      entry.failedUnits += row.units;
      entry.causes.push(`${row.units} units refused by Stripe (see meter reports with status FAILED)`);
    } else if (row.status === 'TOO_OLD') {
      entry.tooOldUnits += row.units;
      entry.causes.push(`${row.units} units older than Stripe accepts: bill by hand`);
    } else {
      entry.pendingUnits += row.units;
      entry.causes.push(
        row.stripeCustomerId
          ? `${row.units} units not reported yet (the billing worker will send them)`
          : `${row.units} units on an account without a Stripe customer (not billed through Stripe)`,
      );
    }
  }
  for (const entry of accounts.values()) {
    entry.difference = entry.ledgerUnits - entry.reportedUnits - entry.pendingUnits - entry.failedUnits - entry.tooOldUnits;
    if (stripe && meterId && entry.stripeCustomerId) await compareWithStripe(prisma, stripe, meterId, entry, from, to);
  }
  return [...accounts.values()];
}

/** The ledger's units in [from, to) per account and state of their meter report, ordered by account. */
async function unitsByStatus(prisma: PrismaClient, from: Date, to: Date): Promise<Row[]> {
  const units = await unitsByReport(prisma, from, to);
  const reportIds = [...new Set(units.flatMap((row) => (row.meterReportId ? [row.meterReportId] : [])))];
  const statusOf = new Map(
    (await prisma.meterReport.findMany({ where: { id: { in: reportIds } }, select: { id: true, status: true } })).map((report) => [report.id, report.status]),
  );
  const customers = await stripeCustomersOf(prisma, [...new Set(units.map((row) => row.accountId))]);
  const rows = new Map<string, Row>();
  for (const { accountId, meterReportId, units: count } of units) {
    // The ledger has no foreign key to accounts: usage of an account that does not exist is not reconciled.
    if (!customers.has(accountId)) continue;
    const status = meterReportId ? (statusOf.get(meterReportId) ?? null) : null;
    const key = `${accountId}|${status}`;
    const row = rows.get(key) ?? { accountId, stripeCustomerId: customers.get(accountId) ?? null, status, units: 0 };
    row.units += count;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
}

async function compareWithStripe(prisma: PrismaClient, stripe: Stripe, meterId: string, entry: AccountReconciliation, from: Date, to: Date): Promise<void> {
  const start = Math.floor(from.getTime() / HOUR) * HOUR;
  const end = Math.ceil(to.getTime() / HOUR) * HOUR;
  const held = new Map<number, number>();
  for await (const summary of stripe.billing.meters.listEventSummaries(meterId, {
    customer: entry.stripeCustomerId!,
    start_time: start / 1000,
    end_time: end / 1000,
    value_grouping_window: 'hour',
  })) {
    held.set(summary.start_time * 1000, (held.get(summary.start_time * 1000) ?? 0) + summary.aggregated_value);
  }
  const reports = await prisma.meterReport.findMany({
    where: { accountId: entry.accountId, status: 'SENT', windowStart: { gte: new Date(start), lt: new Date(end) } },
  });
  const reported = new Map<number, number>();
  for (const report of reports) {
    const hour = Math.floor(report.windowStart.getTime() / HOUR) * HOUR;
    reported.set(hour, (reported.get(hour) ?? 0) + report.units);
  }
  entry.stripeUnits = [...held.values()].reduce((sum, units) => sum + units, 0);
  for (const hour of new Set([...held.keys(), ...reported.keys()])) {
    const ours = reported.get(hour) ?? 0;
    const theirs = held.get(hour) ?? 0;
    if (ours === theirs) continue;
    entry.windows.push({
      windowStart: new Date(hour),
      windowEnd: new Date(hour + HOUR),
      reportedUnits: ours,
      stripeUnits: theirs,
      cause: theirs < ours ? 'reported to Stripe but missing from its meter' : 'Stripe holds more than Tollgraph reported',
    });
    entry.difference += ours - theirs;
  }
  entry.windows.sort((a, b) => a.windowStart.getTime() - b.windowStart.getTime());
}
