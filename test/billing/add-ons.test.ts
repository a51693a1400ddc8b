import { randomUUID } from 'node:crypto';
import { setupStripe } from '../../src/billing/setup';
import { MeterSync } from '../../src/billing/meter-sync';
import { CUSTOMER_RISK_SCORES } from '../../src/catalog/customer-risk-scores';
import { encodeLatest, latestKey } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';
import { checkoutSessionObject, deliver, newId, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events';
import { serviceUrl } from '../support/throwaway-database';

/**
 * Access per data product: a subscriber reads a product's fields when its plan includes the
 * product or its account bought the product as an add-on (Stripe Checkout, applied by the
 * webhook); otherwise FORBIDDEN naming the cheapest way in. Stripe's API surface is stripe-mock.
 */
const SLUG = CUSTOMER_RISK_SCORES.slug;
const PUBLISH = 'mutation($input: DataProductInput!) { publishDataProduct(input: $input) { version pricing { addOnMonthlyPriceCents unitAmountDecimal } } }';
const READ = '{ riskScore(customerId: "c-add-on") { customerId band } }';

describe('data products bought as add-ons', () => {
  let gateway: TestGateway;
  let admin: { key: string };

  beforeAll(async () => {
    gateway = await startTestGateway({
      STRIPE_SECRET_KEY: 'sk_test_123',
      STRIPE_API_BASE: serviceUrl('STRIPE_API_BASE'),
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      BILLING_SYNC_IN_GATEWAY: 'false',
    });
    admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    // The product leaves FREE, and is sold on its own: $49 a month plus 0.1 cent a unit.
    const { body } = await gateway.query(PUBLISH, {
      key: admin.key,
      variables: {
        input: {
          ...CUSTOMER_RISK_SCORES,
          version: '1.1.0',
          accessPolicy: { plans: ['PROFESSIONAL', 'ENTERPRISE'], fields: CUSTOMER_RISK_SCORES.accessPolicy.fields.filter((entry) => entry.plan !== 'FREE') },
          pricing: { addOnMonthlyPriceCents: 4900, unitAmountDecimal: '0.1' },
        },
      },
    });
    expect(body.data.publishDataProduct).toEqual({ version: '1.1.0', pricing: { addOnMonthlyPriceCents: 4900, unitAmountDecimal: '0.1' } });
    const setup = await setupStripe(gateway.services.stripe!, gateway.services.db.prisma, 'tollgraph_cost_units', { type: 'cli' });
    expect(setup.products).toEqual([expect.objectContaining({ slug: SLUG, meterEventName: 'tollgraph_product_customer_risk_scores' })]);
    // `stripe setup` runs in another process in production; its ids reach the gateways' cached terms within their TTL.
    await gateway.services.productAccess.invalidate();
    const now = new Date().toISOString();
    await gateway.services.redis!.set(
      latestKey(gateway.services.config.REDIS_KEY_PREFIX, 'c-add-on'),
      encodeLatest({
        customerId: 'c-add-on',
        eventId: randomUUID(),
        score: 420,
        band: 'MEDIUM',
        factors: [],
        eventTime: now,
        computedAt: now,
        modelVersion: 'test',
      }),
    );
  }, 60_000);
  afterAll(() => gateway?.stop());

  it('without the product: FORBIDDEN naming the add-on and its price (the cheapest way in) and the plan; bought through Checkout: the same query succeeds', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'FREE' });
    const refused = await gateway.query(READ, { key });
    expect(refused.status).toBe(403);
    expect(refused.body.data ?? null).toBeNull();
    expect(refused.body.errors?.[0]).toMatchObject({
      message: `Your plan (FREE) does not include the data product ${SLUG}; get it with the ${SLUG} add-on ($49/month: createAddOnCheckoutSession(product: "${SLUG}")), or plan PROFESSIONAL ($2,500/month).`,
      extensions: { code: 'FORBIDDEN', product: SLUG, plan: 'FREE', upgradeTo: 'PROFESSIONAL', addOn: { product: SLUG, monthlyPriceCents: 4900 } },
    });
    // Refused before execution: nothing charged.
    expect(await gateway.services.db.prisma.usageRecord.count({ where: { accountId } })).toBe(0);

    const checkout = await gateway.query(`mutation { createAddOnCheckoutSession(product: "${SLUG}") { url } }`, { key });
    expect(checkout.body.errors).toBeUndefined();
    expect(checkout.body.data.createAddOnCheckoutSession.url).toMatch(/^https:\/\//);
    const { stripeCustomerId } = await gateway.services.db.prisma.account.findUniqueOrThrow({ where: { id: accountId } });
    expect(stripeCustomerId).toMatch(/^cus_/);

    // What Stripe sends once the subscriber has paid: the session carries the metadata Checkout was created with.
    const session = {
      ...checkoutSessionObject({ customer: stripeCustomerId!, subscription: newId('sub'), accountId }),
      metadata: { accountId, product: SLUG },
    };
    const delivered = await deliver(gateway.url, stripeEvent('checkout.session.completed', session));
    expect(delivered).toEqual({ status: 200, body: { received: true, status: 'processed' } });

    const served = await gateway.query(READ, { key });
    expect(served.body.errors).toBeUndefined();
    expect(served.body.data.riskScore).toEqual({ customerId: 'c-add-on', band: 'MEDIUM' });
    // The plan is untouched: the add-on grants the product, not PROFESSIONAL.
    expect((await gateway.services.db.prisma.account.findUniqueOrThrow({ where: { id: accountId } })).planCode).toBe('FREE');
    expect(await gateway.services.db.prisma.auditLog.count({ where: { action: 'account.productAddOn', targetId: accountId } })).toBe(1);

    // The ledger names the product (the checkout mutation is of none), and usage through the add-on counts on the product's own meter...
    const records = await gateway.services.db.prisma.usageRecord.findMany({ where: { accountId }, orderBy: { occurredAt: 'asc' } });
    expect(records.map(({ product, meter, costUnits }) => ({ product, meter, costUnits }))).toEqual([
      { product: null, meter: 'api_cost_units', costUnits: 1 },
      { product: SLUG, meter: 'tollgraph_product_customer_risk_scores', costUnits: 1 },
    ]);
    // ...which the billing worker reports as a meter event Stripe accepts, on that meter.
    const sync = new MeterSync(
      gateway.services.db.prisma,
      gateway.services.stripe!,
      { eventName: 'tollgraph_cost_units', eventsPerSecond: 20, leaseMs: 5000, backoffBaseMs: 10, backoffMaxMs: 100 },
      gateway.services.logger,
    );
    expect(await sync.runOnce()).toMatchObject({ failed: 0 });
    const reports = await gateway.services.db.prisma.meterReport.findMany({ where: { accountId }, orderBy: { eventName: 'asc' } });
    expect(reports.map(({ status, product, eventName, units }) => ({ status, product, eventName, units }))).toEqual([
      { status: 'SENT', product: null, eventName: 'tollgraph_cost_units', units: 1 },
      { status: 'SENT', product: SLUG, eventName: 'tollgraph_product_customer_risk_scores', units: 1 },
    ]);
  });

  it('a plan that includes the product reads it on the plans’ meter; an admin reads everything', async () => {
    const professional = await gateway.newKey({ plan: 'PROFESSIONAL' });
    expect((await gateway.query(READ, { key: professional.key })).body.data.riskScore.band).toBe('MEDIUM');
    const [record] = await gateway.services.db.prisma.usageRecord.findMany({ where: { accountId: professional.accountId } });
    expect(record).toMatchObject({ product: SLUG, meter: 'api_cost_units' });
    const freeAdmin = await gateway.newKey({ plan: 'FREE', role: 'ADMIN' });
    expect((await gateway.query(READ, { key: freeAdmin.key })).body.errors).toBeUndefined();
  });

  it('a cancelled add-on ends access', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'FREE' });
    const customer = newId('cus');
    await gateway.services.accounts.linkStripeCustomer(accountId, customer, { type: 'cli' });
    const subscription = newId('sub');
    const session = { ...checkoutSessionObject({ customer, subscription, accountId }), metadata: { accountId, product: SLUG } };
    expect((await deliver(gateway.url, stripeEvent('checkout.session.completed', session, { created: Date.now() - 60_000 }))).status).toBe(200);
    expect((await gateway.query(READ, { key })).status).toBe(200);
    const ended = { id: subscription, object: 'subscription', customer, status: 'canceled', metadata: { accountId, product: SLUG }, items: { data: [] } };
    expect((await deliver(gateway.url, stripeEvent('customer.subscription.deleted', ended))).status).toBe(200);
    expect((await gateway.query(READ, { key })).status).toBe(403);
  });
});
