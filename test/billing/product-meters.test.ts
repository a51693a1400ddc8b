import { randomBytes } from 'node:crypto';
import { MeterSync } from '../../src/billing/meter-sync';
import { meterIdentifier, WINDOW_MS } from '../../src/billing/meter-reports';
import { reconcile } from '../../src/billing/reconcile';
import { createStripe } from '../../src/billing/stripe-client';
import { FakeStripe } from '../support/fake-stripe';
import { mulberry32 } from '../support/random';
import { startTestGateway, type TestGateway } from '../support/harness';
import { recordUsage } from '../support/usage';

/**
 * Usage bills per data product: records of a product bought as an add-on go to the product's own
 * Stripe meter, the rest to the plans' meter; reports keep deterministic identifiers; after a
 * drain, reconciliation is zero per product, and each product meter holds its product's units.
 * The recording fake counts what was sent, per meter.
 */
const SLUG = 'customer-risk-scores';
const PRODUCT_METER = 'tollgraph_product_customer_risk_scores';
const PLANS_METER = { id: 'mtr_plans', eventName: 'tollgraph_cost_units' };
const MINUTE = 60_000;

describe('meter events per data product', () => {
  let gateway: TestGateway;
  let fake: FakeStripe;
  let url: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    // What `tollgraph stripe setup` stores for a product with a unit price (setup itself runs against stripe-mock in add-ons.test.ts).
    await gateway.services.db.prisma.dataProduct.update({
      where: { slug: SLUG },
      data: { unitAmountDecimal: '0.1', meterEventName: PRODUCT_METER, stripeMeterId: 'mtr_product' },
    });
    fake = new FakeStripe({ failureRate: 0.2, random: mulberry32(7), meters: { mtr_product: PRODUCT_METER, [PLANS_METER.id]: PLANS_METER.eventName } });
    url = await fake.start();
  }, 60_000);
  afterAll(async () => {
    await fake?.stop();
    await gateway?.stop();
  });

  it('sends each product’s add-on usage to its own meter, the rest to the plans’ meter, and reconciles to zero per product', async () => {
    const customers: Array<{ accountId: string; customer: string; product: number; plan: number; none: number }> = [];
    const base = Math.floor((Date.now() - 30 * MINUTE) / WINDOW_MS) * WINDOW_MS;
    for (let c = 0; c < 3; c++) {
      const who = await gateway.newKey({ plan: 'FREE' });
      const customer = `cus_test${randomBytes(6).toString('hex')}`;
      await gateway.services.accounts.linkStripeCustomer(who.accountId, customer, { type: 'cli' });
      const costs = Array.from({ length: 60 }, (_, i) => 1 + ((i + c) % 5));
      // The same minutes carry all three kinds, so a window holds reports of several meters and products.
      const at = (i: number) => new Date(base + (i % 20) * MINUTE + i * 10);
      customers.push({
        ...who,
        customer,
        product: await recordUsage(gateway, who, costs, at, { product: SLUG, meter: PRODUCT_METER }),
        plan: await recordUsage(gateway, who, costs.slice(0, 40), at, { product: SLUG }),
        none: await recordUsage(gateway, who, costs.slice(0, 10), at),
      });
    }
    const stripe = createStripe({ STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: url }, 300)!;
    const sync = new MeterSync(
      gateway.services.db.prisma,
      stripe,
      { eventName: PLANS_METER.eventName, eventsPerSecond: 2000, leaseMs: 5000, backoffBaseMs: 10, backoffMaxMs: 100 },
      gateway.services.logger,
    );
    await sync.drain(Date.now() + 60_000);

    const onProductMeter = fake.unitsByCustomer(PRODUCT_METER);
    const onPlansMeter = fake.unitsByCustomer(PLANS_METER.eventName);
    for (const { customer, product, plan, none } of customers) {
      expect(onProductMeter.get(customer)).toBe(product);
      expect(onPlansMeter.get(customer)).toBe(plan + none);
    }

    // An account's usage adds its meters up: one bucket per hour, whatever meters it holds.
    const buckets = await gateway.services.usage.usageOf(customers[0].accountId, new Date(base - 3_600_000), new Date(), 'HOUR');
    expect(new Set(buckets.map((bucket) => bucket.start.getTime())).size).toBe(buckets.length);
    const total = customers[0].product + customers[0].plan + customers[0].none;
    expect(buckets.reduce((sum, bucket) => sum + bucket.costUnits, 0)).toBe(total);
    expect(buckets.reduce((sum, bucket) => sum + bucket.reportedUnits, 0)).toBe(total);

    // Identifiers stay fixed by account, window and sequence: several reports in one window are numbered apart.
    const accountIds = customers.map((customer) => customer.accountId);
    const reports = await gateway.services.db.prisma.meterReport.findMany({ where: { accountId: { in: accountIds } }, orderBy: { identifier: 'asc' } });
    for (const report of reports)
      expect(report.identifier).toMatch(new RegExp(`^${meterIdentifier(report.accountId, report.windowStart, 0).slice(0, -1)}\\d+$`));
    expect(new Set(reports.map((report) => report.eventName))).toEqual(new Set([PRODUCT_METER, PLANS_METER.eventName]));
    expect(reports.filter((report) => report.eventName === PRODUCT_METER).every((report) => report.product === SLUG)).toBe(true);

    const rows = (await reconcile(gateway.services.db.prisma, stripe, PLANS_METER, new Date(base - 3_600_000), new Date())).filter((row) =>
      accountIds.includes(row.accountId),
    );
    for (const { accountId, product, plan, none } of customers) {
      const row = rows.find((candidate) => candidate.accountId === accountId)!;
      expect(row).toMatchObject({ difference: 0, windows: [], ledgerUnits: product + plan + none, stripeUnits: product + plan + none });
      expect(
        row.products
          .map(({ product: slug, meter, ledgerUnits, reportedUnits, stripeUnits, difference }) => ({
            slug,
            meter,
            ledgerUnits,
            reportedUnits,
            stripeUnits,
            difference,
          }))
          .sort((a, b) => a.meter.localeCompare(b.meter) || String(a.slug).localeCompare(String(b.slug))),
      ).toEqual([
        { slug: SLUG, meter: PLANS_METER.eventName, ledgerUnits: plan, reportedUnits: plan, stripeUnits: null, difference: 0 },
        { slug: null, meter: PLANS_METER.eventName, ledgerUnits: none, reportedUnits: none, stripeUnits: null, difference: 0 },
        { slug: SLUG, meter: PRODUCT_METER, ledgerUnits: product, reportedUnits: product, stripeUnits: product, difference: 0 },
      ]);
    }

    // A product meter that lost an event is named, on that product.
    const lost = reports.find((report) => report.eventName === PRODUCT_METER && report.accountId === customers[0].accountId)!;
    fake.forget(lost.identifier);
    const after = (await reconcile(gateway.services.db.prisma, stripe, PLANS_METER, new Date(base - 3_600_000), new Date())).find(
      (row) => row.accountId === customers[0].accountId,
    )!;
    expect(after.windows).toEqual([expect.objectContaining({ meter: PRODUCT_METER, cause: 'reported to Stripe but missing from its meter' })]);
    expect(after.products.find((row) => row.meter === PRODUCT_METER)?.difference).toBe(lost.units);
  }, 90_000);
});
