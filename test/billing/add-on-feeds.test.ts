import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CUSTOMER_RISK_SCORES } from '../../src/catalog/customer-risk-scores';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { encodeViews, SCORES_CHANNEL, type RiskScoreView } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';
import { checkoutSessionObject, deliver, newId, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events';

/** A live feed of a product read through an add-on is checked at every event: it ends when the add-on does. */
const SLUG = CUSTOMER_RISK_SCORES.slug;

describe('live feeds of an add-on', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    // Only ENTERPRISE includes the product; PROFESSIONAL (which has live updates) reads it through the add-on.
    await gateway.services.catalog.publish(
      {
        ...CUSTOMER_RISK_SCORES,
        version: '1.1.0',
        accessPolicy: { plans: ['ENTERPRISE'], fields: CUSTOMER_RISK_SCORES.accessPolicy.fields.filter(({ plan }) => plan === 'ENTERPRISE') },
        pricing: { addOnMonthlyPriceCents: 4900 },
      },
      await buildGatewaySchema(),
      { type: 'system:test' },
    );
  }, 60_000);
  afterAll(() => gateway?.stop());

  it('delivers while the add-on is active and ends the feed with FORBIDDEN once it is cancelled', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const customer = newId('cus');
    await gateway.services.accounts.linkStripeCustomer(accountId, customer, { type: 'cli' });
    const subscription = newId('sub');
    const metadata = { accountId, product: SLUG };
    const paid = { ...checkoutSessionObject({ customer, subscription, accountId }), metadata };
    expect((await deliver(gateway.url, stripeEvent('checkout.session.completed', paid, { created: Date.now() - 60_000 }))).status).toBe(200);

    const customerId = `c-feed-${randomUUID()}`;
    const received: unknown[] = [];
    const errors: unknown[] = [];
    let completed = false;
    const client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });
    client.subscribe(
      { query: 'subscription($id: ID!) { riskScoreUpdated(customerIds: [$id]) { customerId band } }', variables: { id: customerId } },
      {
        next: (result) => (result.errors ? errors.push(...result.errors) : received.push(result.data)),
        error: (error) => errors.push(...(Array.isArray(error) ? error : [error])),
        complete: () => {
          completed = true;
        },
      },
    );
    const publish = () => gateway.services.pubsub.publish(SCORES_CHANNEL, encodeViews([scoreOf(customerId)]));
    try {
      await waitFor(
        'an event through the add-on',
        async () => {
          await publish();
          return received.length > 0;
        },
        10_000,
        100,
      );
      const ended = { id: subscription, object: 'subscription', customer, status: 'canceled', metadata, items: { data: [] } };
      expect((await deliver(gateway.url, stripeEvent('customer.subscription.deleted', ended))).status).toBe(200);
      await waitFor(
        'the feed to end',
        async () => {
          await publish();
          return completed;
        },
        10_000,
        100,
      );
      expect(errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN', product: SLUG }) })]);
    } finally {
      await client.dispose();
    }
  });
});

function scoreOf(customerId: string): RiskScoreView {
  const now = new Date().toISOString();
  return { customerId, eventId: randomUUID(), score: 100, band: 'LOW', factors: [], eventTime: now, computedAt: now, modelVersion: 'test' };
}
