import type Stripe from 'stripe';
import type { PrismaClient } from '../generated/prisma/client';

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
  account_id: string;
  stripe_customer_id: string | null;
  status: 'SENT' | 'PENDING' | 'FAILED' | 'TOO_OLD' | null;
  units: number;
}

const HOUR = 3_600_000;

/**
 * Ledger against what was reported, per account over [from, to): every unit is either
 * reported, pending (with its cause), failed or too old; and, when Stripe is configured, what
 * each customer's meter holds per hour against what we reported, naming each window that differs.
 */
export async function reconcile(prisma: PrismaClient, stripe: Stripe | undefined, meterId: string | undefined, from: Date, to: Date): Promise<AccountReconciliation[]> {
  const rows = await prisma.$queryRaw<Row[]>`
    SELECT u.account_id, a.stripe_customer_id, r.status::text AS status, sum(u.cost_units)::int AS units
    FROM usage_records u JOIN accounts a ON a.id = u.account_id LEFT JOIN meter_reports r ON r.id = u.meter_report_id
    WHERE u.occurred_at >= ${from} AND u.occurred_at < ${to}
    GROUP BY u.account_id, a.stripe_customer_id, r.status
    ORDER BY u.account_id`;
  const accounts = new Map<string, AccountReconciliation>();
  for (const row of rows) {
    const entry =
      accounts.get(row.account_id) ??
      ({ accountId: row.account_id, stripeCustomerId: row.stripe_customer_id, ledgerUnits: 0, reportedUnits: 0, pendingUnits: 0, failedUnits: 0, tooOldUnits: 0, stripeUnits: null, difference: 0, causes: [], windows: [] } satisfies AccountReconciliation);
    accounts.set(row.account_id, entry);
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
      entry.causes.push(row.stripe_customer_id ? `${row.units} units not reported yet (the billing worker will send them)` : `${row.units} units on an account without a Stripe customer (not billed through Stripe)`);
    }
  }
  for (const entry of accounts.values()) {
    entry.difference = entry.ledgerUnits - entry.reportedUnits - entry.pendingUnits - entry.failedUnits - entry.tooOldUnits;
    if (stripe && meterId && entry.stripeCustomerId) await compareWithStripe(prisma, stripe, meterId, entry, from, to);
  }
  return [...accounts.values()];
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
  const reports = await prisma.meterReport.findMany({ where: { accountId: entry.accountId, status: 'SENT', windowStart: { gte: new Date(start), lt: new Date(end) } } });
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
