import type Stripe from 'stripe';
import { stripeCustomersOf } from '../accounts/service';
import type { PrismaClient } from '../generated/prisma/client';
import type { MeterReportStatus } from '../generated/prisma/enums';
import { pricedProducts } from '../catalog/stripe-prices';
import { DEFAULT_METER } from '../metering/ledger';
import { unitsByReport } from '../metering/reporting';

export interface WindowDiscrepancy {
  /** The Stripe meter (event name) the hour is on. */
  meter: string;
  windowStart: Date;
  windowEnd: Date;
  reportedUnits: number;
  stripeUnits: number;
  cause: string;
}

/** Billable units by what became of them, against what Stripe holds. */
export interface UnitsReconciled {
  /** Every billable unit served in the range. */
  ledgerUnits: number;
  /** Units Stripe confirmed receiving (reports SENT). */
  reportedUnits: number;
  /** Units not reported yet, and why. */
  pendingUnits: number;
  failedUnits: number;
  tooOldUnits: number;
  /** What the meter holds in the range; null when Stripe was not asked or cannot tell (the plans' meter sums every product). */
  stripeUnits: number | null;
  /** Ledger units not accounted for by reported, pending, failed or too-old ones, plus reported units Stripe does not hold. */
  difference: number;
}

/** Units of one data product (null: fields of no product) of one account, by what became of them. */
export interface ProductReconciliation extends UnitsReconciled {
  product: string | null;
  /** The meter its units were reported on: the plans', or the product's own (usage through its add-on). */
  meter: string;
}

export interface AccountReconciliation extends UnitsReconciled {
  accountId: string;
  stripeCustomerId: string | null;
  causes: string[];
  windows: WindowDiscrepancy[];
  /** The same, per data product and meter. */
  products: ProductReconciliation[];
}

interface Row {
  accountId: string;
  stripeCustomerId: string | null;
  product: string | null;
  /** The Stripe event name of the meter. */
  meter: string;
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
  plansMeter: { id: string; eventName: string } | undefined,
  from: Date,
  to: Date,
): Promise<AccountReconciliation[]> {
  // Stripe meter ids by event name: the plans' meter and each product's own.
  const meters = new Map<string, string>(
    (await pricedProducts(prisma)).flatMap((product) =>
      product.meterEventName && product.stripeMeterId ? [[product.meterEventName, product.stripeMeterId]] : [],
    ),
  );
  if (plansMeter) meters.set(plansMeter.eventName, plansMeter.id);
  const plansEventName = plansMeter?.eventName ?? DEFAULT_METER;
  const accounts = new Map<string, AccountReconciliation>();
  for (const row of await unitsByStatus(prisma, from, to, plansEventName)) {
    const entry =
      accounts.get(row.accountId) ??
      ({
        accountId: row.accountId,
        stripeCustomerId: row.stripeCustomerId,
        ...noUnits(),
        causes: [],
        windows: [],
        products: [],
      } satisfies AccountReconciliation);
    accounts.set(row.accountId, entry);
    const product = productEntry(entry, row);
    const field = STATUS_FIELD[row.status ?? 'PENDING'];
    for (const tally of [entry, product]) {
      tally.ledgerUnits += row.units;
      tally[field] += row.units;
    }
    if (row.status === 'SENT') continue;
    if (row.status === 'FAILED') {
      entry.causes.push(`${row.units} units refused by Stripe (see meter reports with status FAILED)`);
    } else if (row.status === 'TOO_OLD') {
      entry.causes.push(`${row.units} units older than Stripe accepts: bill by hand`);
    } else {
      entry.causes.push(
        row.stripeCustomerId
          ? `${row.units} units not reported yet (the billing worker will send them)`
          : `${row.units} units on an account without a Stripe customer (not billed through Stripe)`,
      );
    }
  }
  for (const entry of accounts.values()) {
    for (const tally of [entry, ...entry.products]) tally.difference = unaccounted(tally);
    if (!stripe || !entry.stripeCustomerId) continue;
    for (const meter of new Set(entry.products.map((product) => product.meter))) {
      const meterId = meters.get(meter);
      if (!meterId) continue;
      const held = await compareWithStripe(prisma, stripe, { id: meterId, eventName: meter }, entry, from, to);
      // A product's own meter holds that product alone: its reconciliation includes Stripe's side.
      const own = entry.products.filter((product) => product.meter === meter);
      if (meter !== plansEventName && own.length === 1) {
        own[0].stripeUnits = held;
        own[0].difference += own[0].reportedUnits - held;
      }
    }
  }
  return [...accounts.values()];
}

const STATUS_FIELD = { SENT: 'reportedUnits', PENDING: 'pendingUnits', FAILED: 'failedUnits', TOO_OLD: 'tooOldUnits' } as const;

const noUnits = (): UnitsReconciled => ({
  ledgerUnits: 0,
  reportedUnits: 0,
  pendingUnits: 0,
  failedUnits: 0,
  tooOldUnits: 0,
  stripeUnits: null,
  difference: 0,
});

/** Ledger units not accounted for as reported, pending, failed or too old. */
const unaccounted = (tally: UnitsReconciled) => tally.ledgerUnits - tally.reportedUnits - tally.pendingUnits - tally.failedUnits - tally.tooOldUnits;

function productEntry(entry: AccountReconciliation, { product, meter }: Row): ProductReconciliation {
  let found = entry.products.find((candidate) => candidate.product === product && candidate.meter === meter);
  if (!found) {
    found = { product, meter, ...noUnits() };
    entry.products.push(found);
  }
  return found;
}

/** The ledger's units in [from, to) per account and state of their meter report, ordered by account. */
async function unitsByStatus(prisma: PrismaClient, from: Date, to: Date, plansEventName: string): Promise<Row[]> {
  const units = await unitsByReport(prisma, from, to);
  const reportIds = [...new Set(units.flatMap((row) => (row.meterReportId ? [row.meterReportId] : [])))];
  const statusOf = new Map(
    (await prisma.meterReport.findMany({ where: { id: { in: reportIds } }, select: { id: true, status: true } })).map((report) => [report.id, report.status]),
  );
  const customers = await stripeCustomersOf(prisma, [...new Set(units.map((row) => row.accountId))]);
  const rows = new Map<string, Row>();
  for (const { accountId, product, meter: ledgerMeter, meterReportId, units: count } of units) {
    // The ledger has no foreign key to accounts: usage of an account that does not exist is not reconciled.
    if (!customers.has(accountId)) continue;
    const status = meterReportId ? (statusOf.get(meterReportId) ?? null) : null;
    const meter = ledgerMeter === DEFAULT_METER ? plansEventName : ledgerMeter;
    const key = `${accountId}|${status}|${product}|${meter}`;
    const row = rows.get(key) ?? { accountId, stripeCustomerId: customers.get(accountId) ?? null, product, meter, status, units: 0 };
    row.units += count;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
}

/** What one Stripe meter holds for the account against the reports sent on it, hour by hour; returns what it holds. */
async function compareWithStripe(
  prisma: PrismaClient,
  stripe: Stripe,
  meter: { id: string; eventName: string },
  entry: AccountReconciliation,
  from: Date,
  to: Date,
): Promise<number> {
  const start = Math.floor(from.getTime() / HOUR) * HOUR;
  const end = Math.ceil(to.getTime() / HOUR) * HOUR;
  const held = new Map<number, number>();
  for await (const summary of stripe.billing.meters.listEventSummaries(meter.id, {
    customer: entry.stripeCustomerId!,
    start_time: start / 1000,
    end_time: end / 1000,
    value_grouping_window: 'hour',
  })) {
    held.set(summary.start_time * 1000, (held.get(summary.start_time * 1000) ?? 0) + summary.aggregated_value);
  }
  const reports = await prisma.meterReport.findMany({
    where: { accountId: entry.accountId, eventName: meter.eventName, status: 'SENT', windowStart: { gte: new Date(start), lt: new Date(end) } },
  });
  const reported = new Map<number, number>();
  for (const report of reports) {
    const hour = Math.floor(report.windowStart.getTime() / HOUR) * HOUR;
    reported.set(hour, (reported.get(hour) ?? 0) + report.units);
  }
  const total = [...held.values()].reduce((sum, units) => sum + units, 0);
  entry.stripeUnits = (entry.stripeUnits ?? 0) + total;
  for (const hour of new Set([...held.keys(), ...reported.keys()])) {
    const ours = reported.get(hour) ?? 0;
    const theirs = held.get(hour) ?? 0;
    if (ours === theirs) continue;
    entry.windows.push({
      meter: meter.eventName,
      windowStart: new Date(hour),
      windowEnd: new Date(hour + HOUR),
      reportedUnits: ours,
      stripeUnits: theirs,
      cause: theirs < ours ? 'reported to Stripe but missing from its meter' : 'Stripe holds more than Tollgraph reported',
    });
    entry.difference += ours - theirs;
  }
  entry.windows.sort((a, b) => a.windowStart.getTime() - b.windowStart.getTime());
  return total;
}
