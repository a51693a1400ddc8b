import { randomUUID } from 'node:crypto';
import { MeterSync } from '../../src/billing/meter-sync';
import { setupStripe } from '../../src/billing/setup';
import { serviceUrl } from '../support/throwaway-database';
import { startTestGateway, type TestGateway } from '../support/harness';

/** The real `stripe` client against stripe-mock: our requests have the shapes Stripe's API accepts. */
describe('Stripe API surface (stripe-mock)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_API_BASE: serviceUrl('STRIPE_API_BASE'), BILLING_SYNC_IN_GATEWAY: 'false' });
  });
  afterAll(() => gateway?.stop());

  it('sets up the meter, products and prices, and stores their ids', async () => {
    const { stripe, db } = gateway.services;
    const result = await setupStripe(stripe!, db.prisma, 'tollgraph_cost_units', { type: 'cli' });
    expect(result.meterId).toMatch(/^mtr_|^meter_/);
    expect(result.plans.map((plan) => plan.code)).toEqual(['PROFESSIONAL', 'ENTERPRISE']);
    const professional = await db.prisma.plan.findUniqueOrThrow({ where: { code: 'PROFESSIONAL' } });
    expect(professional).toMatchObject({
      stripeProductId: expect.any(String),
      stripeFlatPriceId: expect.stringMatching(/^price_/),
      stripeMeteredPriceId: expect.stringMatching(/^price_/),
    });
    expect(await db.prisma.setting.findUnique({ where: { key: 'stripe.meter' } })).toMatchObject({
      value: { id: result.meterId, eventName: 'tollgraph_cost_units' },
    });
    // Idempotent: running it again succeeds and leaves ids in place.
    await setupStripe(stripe!, db.prisma, 'tollgraph_cost_units', { type: 'cli' });
    expect((await db.prisma.plan.findUniqueOrThrow({ where: { code: 'PROFESSIONAL' } })).stripeProductId).toBe(professional.stripeProductId);
  });

  it('sends meter events that Stripe accepts', async () => {
    const { accountId, keyId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    await gateway.services.accounts.linkStripeCustomer(accountId, 'cus_mock', { type: 'cli' });
    await gateway.services.ledger.record({
      requestId: randomUUID(),
      accountId,
      apiKeyId: keyId,
      planCode: 'PROFESSIONAL',
      operation: 'q',
      costUnits: 3,
      occurredAt: new Date(Date.now() - 1000),
    });
    const sync = new MeterSync(
      gateway.services.db.prisma,
      gateway.services.stripe!,
      { eventName: 'tollgraph_cost_units', eventsPerSecond: 20, leaseMs: 5000, backoffBaseMs: 10, backoffMaxMs: 100 },
      gateway.services.logger,
    );
    expect(await sync.runOnce()).toMatchObject({ assigned: 1, sent: 1, failed: 0 });
  });

  it('creates Checkout and billing portal sessions for a subscriber, creating its Stripe customer on first use', async () => {
    const { accountId, key } = await gateway.newKey({ plan: 'FREE' });
    const checkout = await gateway.query('mutation { createCheckoutSession(planCode: PROFESSIONAL) { url } }', { key });
    expect(checkout.status).toBe(200);
    expect(checkout.body.data.createCheckoutSession.url).toMatch(/^https:\/\//);
    const account = await gateway.services.db.prisma.account.findUniqueOrThrow({ where: { id: accountId } });
    expect(account.stripeCustomerId).toMatch(/^cus_/);
    const portal = await gateway.query('mutation { createBillingPortalSession { url } }', { key });
    expect(portal.body.data.createBillingPortalSession.url).toMatch(/^https:\/\//);

    const enterprise = await gateway.query('mutation { createCheckoutSession(planCode: ENTERPRISE) { url } }', { key });
    expect(enterprise.body.errors?.[0]).toMatchObject({ message: 'ENTERPRISE is sold by contract: contact sales', extensions: { code: 'BAD_USER_INPUT' } });
  });
});
