import { FakeStripe } from '../support/fake-stripe';
import { startTestGateway, type TestGateway } from '../support/harness';
import { creditNoteLine, creditNoteObject, deliver, invoiceLine, invoiceObject, newId, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events';
import { recordUsage } from '../support/usage';
import { waitFor } from '../support/process';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { planProduct } from '../catalog/fixtures';

/**
 * Revenue attribution: units, requests and revenue per data product, per owning domain and per
 * month, from the usage ledger and the products' prices, for admins and the products' publishers.
 * Checked against a month of synthetic usage, summed here independently of the gateway.
 */
const RISK = 'customer-risk-scores';
const RISK_METER = 'tollgraph_product_customer_risk_scores';
const QUERY = `query($from: String!, $to: String!) { productRevenue(from: $from, to: $to) {
  products { month product domain requests units meteredUnits revenueCents invoicedCents }
  domains { month domain requests units meteredUnits revenueCents invoicedCents } } }`;

describe('revenue per data product, domain and month', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway();
    // What `stripe setup` leaves on a product with a unit price of 0.25 cent.
    await gateway.services.db.prisma.dataProduct.update({ where: { slug: RISK }, data: { unitAmountDecimal: '0.25', meterEventName: RISK_METER } });
    await gateway.services.catalog.publish(planProduct({ slug: 'merchant-offers', domain: 'merchant' }), await buildGatewaySchema(), { type: 'system:test' });
  }, 60_000);
  afterAll(() => gateway?.stop());

  it('matches the ledger for a month of synthetic usage, for admins; publishers see their domains only', async () => {
    const november = (i: number) => new Date(Date.UTC(2026, 10, 1 + (i % 30), i % 24, i % 60));
    const costs = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 7 + seed) % 11));
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const a = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const b = await gateway.newKey({ plan: 'FREE' });
    const riskAddOn = costs(300, 1);
    const riskPlan = costs(200, 2);
    const merchant = costs(150, 3);
    await recordUsage(gateway, b, riskAddOn, november, { product: RISK, meter: RISK_METER });
    await recordUsage(gateway, a, riskPlan, november, { product: RISK });
    await recordUsage(gateway, a, merchant, november, { product: 'merchant-offers' });
    // Outside the month, or of no product: not in November's figures.
    await recordUsage(gateway, a, costs(40, 4), (i) => new Date(Date.UTC(2026, 11, 1, 0, i)), { product: RISK, meter: RISK_METER });
    await recordUsage(gateway, a, costs(40, 5), november);

    const riskRow = {
      month: '2026-11',
      product: RISK,
      domain: 'risk',
      requests: riskAddOn.length + riskPlan.length,
      units: sum(riskAddOn) + sum(riskPlan),
      meteredUnits: sum(riskAddOn),
      revenueCents: sum(riskAddOn) * 0.25,
      invoicedCents: 0,
    };
    const merchantRow = {
      month: '2026-11',
      product: 'merchant-offers',
      domain: 'merchant',
      requests: merchant.length,
      units: sum(merchant),
      meteredUnits: 0,
      revenueCents: 0,
      invoicedCents: 0,
    };
    const domainOf = ({ product: _product, ...row }: typeof riskRow) => row;

    const admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    const all = await gateway.query(QUERY, { key: admin.key, variables: { from: '2026-11', to: '2026-11' } });
    expect(all.body.errors).toBeUndefined();
    expect(all.body.data.productRevenue).toEqual({ products: [riskRow, merchantRow], domains: [domainOf(riskRow), domainOf(merchantRow)] });

    const publisher = await gateway.newKey({ plan: 'FREE', role: 'PUBLISHER', domains: ['merchant'] });
    const own = await gateway.query(QUERY, { key: publisher.key, variables: { from: '2026-11', to: '2026-12' } });
    expect(own.body.data.productRevenue).toEqual({ products: [merchantRow], domains: [domainOf(merchantRow)] });

    const subscriber = await gateway.query(QUERY, { key: a.key, variables: { from: '2026-11', to: '2026-11' } });
    expect(subscriber.status).toBe(403);
  });
});

describe('revenue from paid Stripe invoices', () => {
  const stripe = new FakeStripe();
  let gateway: TestGateway;
  let withoutStripe: TestGateway;
  const INVOICED = `query($from: String!, $to: String!) { productRevenue(from: $from, to: $to) {
    products { month product invoicedCents } domains { month domain invoicedCents } } }`;

  beforeAll(async () => {
    const webhooks = { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, BILLING_SYNC_IN_GATEWAY: 'false' };
    gateway = await startTestGateway({ STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: await stripe.start(), ...webhooks });
    withoutStripe = await startTestGateway(webhooks);
    // What `stripe setup` leaves on the products: their Stripe products.
    await gateway.services.db.prisma.dataProduct.update({ where: { slug: RISK }, data: { stripeProductId: 'prod_risk' } });
    await gateway.services.catalog.publish(planProduct({ slug: 'merchant-offers', domain: 'merchant' }), await buildGatewaySchema(), { type: 'system:test' });
    await gateway.services.db.prisma.dataProduct.update({ where: { slug: 'merchant-offers' }, data: { stripeProductId: 'prod_merchant' } });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await withoutStripe?.stop();
    await stripe.stop();
  });

  it('attributes each paid line to its product and the month of its period, once, reading the lines an event leaves out from Stripe', async () => {
    const account = await gateway.newKey({ plan: 'FREE' });
    const customer = newId('cus');
    const november = Date.UTC(2026, 10, 1);
    const december = Date.UTC(2026, 11, 1);
    const riskLine = (amount: number, start: number) => invoiceLine({ price: 'price_risk_add_on', product: 'prod_risk', amount, periodStart: start });
    const merchantLine = (amount: number, start: number) =>
      invoiceLine({ price: 'price_merchant_units', product: 'prod_merchant', amount, periodStart: start });
    const addOn = (lines: Array<Record<string, unknown>>, hasMore = false) =>
      invoiceObject({ subscription: newId('sub'), customer, paid: true, accountId: account.accountId, product: RISK, lines, hasMore });

    // An add-on's fee and its metered units for November; a plan's line (no data product's price) beside them.
    const first = addOn([
      riskLine(250_000, november),
      riskLine(1_234, november),
      invoiceLine({ price: 'price_pro', product: 'prod_plan_pro', amount: 500, periodStart: november }),
    ]);
    expect((await deliver(gateway.url, stripeEvent('invoice.paid', first))).status).toBe(200);
    // The same invoice again in another event (Stripe resends, an admin re-applies): no line twice.
    expect((await deliver(gateway.url, stripeEvent('invoice.paid', first))).status).toBe(200);
    // 250 lines at Stripe, 3 of them in the event: all are read from Stripe, 100 a page.
    const many = Array.from({ length: 250 }, (_, i) => (i % 2 ? merchantLine(100 + i, i < 200 ? november : december) : riskLine(100 + i, november)));
    const second = addOn(many.slice(0, 3), true);
    stripe.invoiceLines.set(second.id as string, many);
    expect((await deliver(gateway.url, stripeEvent('invoice.paid', second))).status).toBe(200);
    expect(stripe.linePages).toBe(3);

    const sum = (lines: Array<Record<string, unknown>>, product: string, start: number) =>
      lines
        .filter(
          (line) =>
            (line.pricing as { price_details: { product: string } }).price_details.product === product &&
            (line.period as { start: number }).start === start / 1000,
        )
        .reduce((total, line) => total + (line.amount as number), 0);
    const all = [...(first.lines as { data: Array<Record<string, unknown>> }).data, ...many];
    const admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    const report = await gateway.query(INVOICED, { key: admin.key, variables: { from: '2026-11', to: '2026-12' } });
    expect(report.body.errors).toBeUndefined();
    const rows = [
      { month: '2026-11', product: RISK, invoicedCents: sum(all, 'prod_risk', november) },
      { month: '2026-11', product: 'merchant-offers', invoicedCents: sum(all, 'prod_merchant', november) },
      { month: '2026-12', product: 'merchant-offers', invoicedCents: sum(all, 'prod_merchant', december) },
    ];
    expect(report.body.data.productRevenue.products).toEqual(rows);
    expect(report.body.data.productRevenue.domains).toEqual([
      { month: '2026-11', domain: 'risk', invoicedCents: rows[0].invoicedCents },
      { month: '2026-11', domain: 'merchant', invoicedCents: rows[1].invoicedCents },
      { month: '2026-12', domain: 'merchant', invoicedCents: rows[2].invoicedCents },
    ]);
    // Every line once (the plan's too, attributed to no product), though the first invoice came twice.
    expect(await gateway.services.db.prisma.invoiceLine.count()).toBe(3 + 250);
  });

  it("reads an invoice's further lines from Stripe before the event's transaction: the subscription's other events do not wait for Stripe", async () => {
    const account = await gateway.newKey({ plan: 'FREE' });
    const subscription = newId('sub');
    const customer = newId('cus');
    const line = (amount: number) => invoiceLine({ price: 'price_risk_add_on', product: 'prod_risk', amount, periodStart: Date.UTC(2026, 10, 1) });
    const invoice = (lines: Array<Record<string, unknown>>, hasMore: boolean) =>
      invoiceObject({ subscription, customer, paid: true, accountId: account.accountId, product: RISK, lines, hasMore });
    const linesOf = (id: unknown) => gateway.services.db.prisma.invoiceLine.count({ where: { invoiceId: id as string } });
    const all = Array.from({ length: 5 }, (_, i) => line(10 + i));
    const slow = invoice(all.slice(0, 1), true);
    stripe.invoiceLines.set(slow.id as string, all);
    const held = stripe.holdLinePages();
    try {
      const slowAnswer = deliver(gateway.url, stripeEvent('invoice.paid', slow));
      await waitFor("the slow invoice's lines asked of Stripe", async () => held.asked() > 0, 30_000, 10);
      // Another paid invoice of the same subscription is applied while Stripe holds the first one's
      // lines: the first event takes the subscription's lock only once it has them.
      const quick = invoice([line(999)], false);
      const quickAnswer = deliver(gateway.url, stripeEvent('invoice.paid', quick));
      await waitFor('the other invoice applied meanwhile', async () => (await linesOf(quick.id)) === 1, 30_000, 20);
      expect((await quickAnswer).status).toBe(200);
      expect(await linesOf(slow.id)).toBe(0);
      held.release();
      expect((await slowAnswer).status).toBe(200);
      expect(await linesOf(slow.id)).toBe(all.length);
    } finally {
      held.release();
    }
  });

  it('takes credit notes off the product and month of the lines they credit, in any order of delivery; a voided note counts no more', async () => {
    const account = await gateway.newKey({ plan: 'FREE' });
    const customer = newId('cus');
    const october = Date.UTC(2026, 9, 1);
    const risk = invoiceLine({ price: 'price_risk_add_on', product: 'prod_risk', amount: 250_000, periodStart: october });
    const merchant = invoiceLine({ price: 'price_merchant_units', product: 'prod_merchant', amount: 5_000, periodStart: october });
    const paid = invoiceObject({ subscription: newId('sub'), customer, paid: true, accountId: account.accountId, product: RISK, lines: [risk, merchant] });
    const invoiceId = paid.id as string;
    const admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    const invoiced = async () => {
      const report = await gateway.query(INVOICED, { key: admin.key, variables: { from: '2026-10', to: '2026-10' } });
      expect(report.body.errors).toBeUndefined();
      return Object.fromEntries(
        (report.body.data.productRevenue.products as Array<{ product: string; invoicedCents: number }>).map((row) => [row.product, row.invoicedCents]),
      );
    };
    const note = (lines: Array<Record<string, unknown>>, hasMore = false) => creditNoteObject({ invoice: invoiceId, customer, lines, hasMore });

    // A credit note that arrives before the invoice it credits is applied once the invoice is.
    const early = note([creditNoteLine({ invoiceLine: merchant.id, amount: 1_000 })]);
    const earlyEvent = stripeEvent('credit_note.created', early);
    const refused = await deliver(gateway.url, earlyEvent);
    expect(refused.status).toBe(500);
    expect(refused.body.errors?.[0].message).toContain(`credits invoice lines not recorded yet (${merchant.id})`);
    expect((await deliver(gateway.url, stripeEvent('invoice.paid', paid))).status).toBe(200);
    expect((await deliver(gateway.url, earlyEvent)).status).toBe(200);
    expect(await invoiced()).toEqual({ [RISK]: 250_000, 'merchant-offers': 4_000 });

    // 100,000 back on the add-on, and a custom line of no product (it counts for none); its
    // further lines read from Stripe; delivered twice, counted once.
    const refund = [
      creditNoteLine({ invoiceLine: risk.id, amount: 60_000 }),
      creditNoteLine({ invoiceLine: risk.id, amount: 40_000 }),
      creditNoteLine({ amount: 700 }),
    ];
    const partial = note(refund.slice(0, 1), true);
    stripe.creditNoteLines.set(partial.id, refund);
    const created = stripeEvent('credit_note.created', partial);
    expect((await deliver(gateway.url, created)).status).toBe(200);
    const pagesRead = stripe.linePages;
    const redelivered = await deliver(gateway.url, created);
    expect(redelivered.status).toBe(200);
    expect(redelivered.body).toMatchObject({ received: true, status: 'duplicate' });
    expect(stripe.linePages).toBe(pagesRead); // an applied event delivered again asks Stripe nothing
    expect(await invoiced()).toEqual({ [RISK]: 150_000, 'merchant-offers': 4_000 });
    expect(await gateway.services.db.prisma.invoiceLine.count({ where: { invoiceId } })).toBe(2 + 1 + 3);

    // Voided: what it took back counts again.
    expect((await deliver(gateway.url, stripeEvent('credit_note.voided', { ...partial, status: 'void' }))).status).toBe(200);
    expect(await invoiced()).toEqual({ [RISK]: 250_000, 'merchant-offers': 4_000 });

    // A note voided before its creation is delivered never counts.
    const voidedFirst = note([creditNoteLine({ invoiceLine: risk.id, amount: 10_000 })]);
    expect((await deliver(gateway.url, stripeEvent('credit_note.voided', { ...voidedFirst, status: 'void' }))).status).toBe(200);
    expect((await deliver(gateway.url, stripeEvent('credit_note.created', voidedFirst))).status).toBe(200);
    expect(await invoiced()).toEqual({ [RISK]: 250_000, 'merchant-offers': 4_000 });
  });

  it('keeps an event whose invoice has lines it cannot read (no Stripe client) as FAILED, for Stripe to deliver again', async () => {
    const account = await withoutStripe.newKey({ plan: 'FREE' });
    const invoice = invoiceObject({
      subscription: newId('sub'),
      customer: newId('cus'),
      paid: true,
      accountId: account.accountId,
      product: RISK,
      lines: [invoiceLine({ price: 'price_risk_add_on', product: 'prod_risk', amount: 250_000, periodStart: Date.UTC(2026, 10, 1) })],
      hasMore: true,
    });
    const event = stripeEvent('invoice.paid', invoice);
    expect((await deliver(withoutStripe.url, event)).status).toBe(500);
    const stored = await withoutStripe.services.db.prisma.stripeEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(stored).toMatchObject({ status: 'FAILED', error: expect.stringContaining(`invoice ${invoice.id} has more lines than its event carries`) });
    expect(await withoutStripe.services.db.prisma.invoiceLine.count()).toBe(0);
  });
});
