import type { SubscriptionStatus } from '../../../src/generated/prisma/enums';
import { startTestGateway, type TestGateway } from '../../support/harness';
import { deliver, invoiceObject, permutations, stripeEvent, WEBHOOK_SECRET, type StripeEventPayload } from '../../support/stripe-events';
import { mulberry32, shuffled, testSeed } from '../../support/random';
import { DAY, newAccount, planOf, PRICES, setUpPrices, subscriptionOf } from './helpers';

/** At least once, in any order: the outcome is the state Stripe shows, reached once. */
describe('Stripe webhooks: redeliveries and order', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await setUpPrices(gateway);
  });
  afterAll(() => gateway?.stop());

  const prisma = () => gateway.services.db.prisma;
  const stripeAudit = (accountId: string) =>
    prisma().auditLog.findMany({ where: { targetId: accountId, actorType: 'system:stripe', action: 'account.setPlan' }, orderBy: { at: 'asc' } });

  it('applies an event delivered three times once', async () => {
    const accountId = await newAccount(gateway);
    const subscription = subscriptionOf(accountId);
    const event = subscription.event('created', new Date());

    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await deliver(gateway.url, event));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.body.status)).toEqual(['processed', 'duplicate', 'duplicate']);

    expect(await planOf(gateway, accountId)).toBe('PROFESSIONAL');
    expect(await stripeAudit(accountId)).toHaveLength(1);
    expect(await prisma().subscription.count({ where: { accountId } })).toBe(1);
    expect(await prisma().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({
      status: 'PROCESSED',
      attempts: 1,
      stripeSubscriptionId: subscription.id,
    });
  });

  it('applies an event delivered three times at once once', async () => {
    const accountId = await newAccount(gateway);
    const subscription = subscriptionOf(accountId);
    const event = subscription.event('created', new Date());
    const answers = await Promise.all([1, 2, 3].map(() => deliver(gateway.url, event)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.body.status).sort()).toEqual(['duplicate', 'duplicate', 'processed']);
    expect(await stripeAudit(accountId)).toHaveLength(1);
    expect(await prisma().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({ status: 'PROCESSED', attempts: 1 });
  });

  interface Expected {
    status: SubscriptionStatus;
    plan: 'FREE' | 'PROFESSIONAL' | 'ENTERPRISE';
    cancelAtPeriodEnd: boolean;
  }

  /** Delivers `build`'s events in every order, each order to a fresh account, and checks each ends as Stripe shows. */
  async function inEveryOrder(build: (accountId: string) => { events: StripeEventPayload[]; subscriptionId: string }, expected: Expected) {
    const { events: sample } = build('00000000-0000-0000-0000-000000000000');
    const orders = permutations(sample.map((_, i) => i));
    for (const order of orders) {
      const accountId = await newAccount(gateway);
      const { events, subscriptionId } = build(accountId);
      for (const i of order) expect((await deliver(gateway.url, events[i])).status).toBe(200);
      const row = await prisma().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscriptionId } });
      expect({ order, status: row.status, plan: await planOf(gateway, accountId), cancelAtPeriodEnd: row.cancelAtPeriodEnd }).toEqual({ order, ...expected });
      expect(row.lastEventId).toBe(events[events.length - 1].id);
    }
    return orders.length;
  }

  it('ends created/updated/deleted in the state Stripe shows, in all 24 delivery orders', async () => {
    const t0 = new Date(Date.now() - 40 * DAY);
    const tried = await inEveryOrder(
      (accountId) => {
        const subscription = subscriptionOf(accountId);
        const events = [
          subscription.event('created', t0, { status: 'incomplete' }),
          subscription.event('updated', new Date(t0.getTime() + 5_000), { status: 'active' }, { status: 'incomplete' }),
          subscription.event(
            'updated',
            new Date(t0.getTime() + 20 * DAY),
            { cancelAtPeriodEnd: true, canceledAt: new Date(t0.getTime() + 20 * DAY) },
            { cancel_at_period_end: false },
          ),
          subscription.event('deleted', new Date(t0.getTime() + 30 * DAY), {
            status: 'canceled',
            cancelAtPeriodEnd: true,
            canceledAt: new Date(t0.getTime() + 20 * DAY),
            endedAt: new Date(t0.getTime() + 30 * DAY),
          }),
        ];
        return { events, subscriptionId: subscription.id };
      },
      { status: 'canceled', plan: 'FREE', cancelAtPeriodEnd: true },
    );
    expect(tried).toBe(24);
  });

  it('ends created/activated/upgraded in the state Stripe shows, in all 6 delivery orders', async () => {
    const t0 = new Date(Date.now() - 10 * DAY);
    await inEveryOrder(
      (accountId) => {
        const subscription = subscriptionOf(accountId);
        const events = [
          subscription.event('created', t0, { status: 'incomplete' }),
          subscription.event('updated', new Date(t0.getTime() + 3_000), { status: 'active' }, { status: 'incomplete' }),
          subscription.event('updated', new Date(t0.getTime() + 2 * DAY), { status: 'active', prices: [...PRICES.ENTERPRISE] }, { items: {} }),
        ];
        return { events, subscriptionId: subscription.id };
      },
      { status: 'active', plan: 'ENTERPRISE', cancelAtPeriodEnd: false },
    );
  });

  it('orders events of the same second by Stripe’s lifecycle: created, then updated', async () => {
    const t0 = new Date(Date.now() - DAY);
    await inEveryOrder(
      (accountId) => {
        const subscription = subscriptionOf(accountId);
        return {
          events: [
            subscription.event('created', t0, { status: 'incomplete' }),
            subscription.event('updated', t0, { status: 'active' }, { status: 'incomplete' }),
          ],
          subscriptionId: subscription.id,
        };
      },
      { status: 'active', plan: 'PROFESSIONAL', cancelAtPeriodEnd: false },
    );
  });

  const SEED = testSeed();
  it(`reaches the same state when a subscription’s events and their redeliveries arrive all at once (shuffled with TEST_SEED=${SEED})`, async () => {
    const random = mulberry32(SEED);
    const t0 = new Date(Date.now() - 40 * DAY);
    for (let round = 0; round < 5; round++) {
      const accountId = await newAccount(gateway);
      const subscription = subscriptionOf(accountId);
      const events = [
        subscription.event('created', t0, { status: 'incomplete' }),
        stripeEvent(
          'invoice.paid',
          invoiceObject({
            subscription: subscription.id,
            customer: subscription.customer,
            paid: true,
            billingReason: 'subscription_create',
            accountId,
            planCode: 'PROFESSIONAL',
            prices: [...PRICES.PROFESSIONAL],
          }),
          { created: t0 },
        ),
        subscription.event('updated', new Date(t0.getTime() + 1_000), { status: 'active' }),
        stripeEvent(
          'invoice.payment_failed',
          invoiceObject({
            subscription: subscription.id,
            customer: subscription.customer,
            paid: false,
            accountId,
            planCode: 'PROFESSIONAL',
            prices: [...PRICES.PROFESSIONAL],
          }),
          { created: new Date(t0.getTime() + 30 * DAY) },
        ),
        subscription.event('updated', new Date(t0.getTime() + 30 * DAY), { status: 'past_due' }),
      ];
      // Invoices carry the subscription's metadata (accountId from Checkout), so any event may come first.
      // Seeded: the seed is in the test's name, and each failure below says which round and order it was.
      const deliveries = shuffled([...events, ...events, ...events], random);
      const order = deliveries.map((event) => events.indexOf(event));
      const answers = await Promise.all(deliveries.map((event) => deliver(gateway.url, event)));
      expect({ seed: SEED, round, order, failed: answers.filter((a) => a.status !== 200) }).toEqual({ seed: SEED, round, order, failed: [] });
      expect({ seed: SEED, round, order, processed: answers.filter((a) => a.body.status === 'processed').length }).toEqual({
        seed: SEED,
        round,
        order,
        processed: events.length,
      });
      // Failed 10 days ago, grace 7 days: FREE limits.
      expect(await prisma().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } })).toMatchObject({
        status: 'past_due',
        pastDueSince: new Date(Math.floor((t0.getTime() + 30 * DAY) / 1000) * 1000),
      });
      expect(await planOf(gateway, accountId)).toBe('FREE');
      // Depending on what landed first the account may never have left FREE; if it did, it is back.
      expect((await stripeAudit(accountId)).map((entry) => (entry.after as { planCode: string }).planCode).at(-1) ?? 'FREE').toBe('FREE');
    }
  });

  it('never lets a late `updated` resurrect a deleted subscription, whatever its timestamp', async () => {
    const accountId = await newAccount(gateway);
    const subscription = subscriptionOf(accountId);
    const t0 = new Date(Date.now() - 5 * DAY);
    expect((await deliver(gateway.url, subscription.event('created', t0))).status).toBe(200);
    expect(
      (await deliver(gateway.url, subscription.event('deleted', new Date(t0.getTime() + DAY), { status: 'canceled', endedAt: new Date(t0.getTime() + DAY) })))
        .status,
    ).toBe(200);
    // Dated after the deletion (clock skew, a bug upstream): still no way back.
    expect((await deliver(gateway.url, subscription.event('updated', new Date(t0.getTime() + 2 * DAY), { status: 'active' }))).status).toBe(200);
    expect(await prisma().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } })).toMatchObject({ status: 'canceled' });
    expect(await planOf(gateway, accountId)).toBe('FREE');
  });

  it('links the customer on checkout.session.completed and applies the plan even before the subscription events arrive', async () => {
    const accountId = await newAccount(gateway);
    const subscription = subscriptionOf(accountId);
    const checkout = stripeEvent('checkout.session.completed', {
      id: 'cs_test_link',
      object: 'checkout.session',
      mode: 'subscription',
      status: 'complete',
      payment_status: 'paid',
      customer: subscription.customer,
      subscription: subscription.id,
      client_reference_id: accountId,
      metadata: { accountId, planCode: 'PROFESSIONAL' },
    });
    expect(await deliver(gateway.url, checkout)).toEqual({ status: 200, body: { received: true, status: 'processed' } });
    expect(await prisma().account.findUniqueOrThrow({ where: { id: accountId } })).toMatchObject({
      stripeCustomerId: subscription.customer,
      planCode: 'PROFESSIONAL',
    });
    expect(await prisma().auditLog.count({ where: { targetId: accountId, actorType: 'system:stripe', action: 'account.linkStripeCustomer' } })).toBe(1);

    // The subscription's own events, older than the checkout, agree and change nothing more.
    const t = new Date(Date.now() - 60_000);
    expect((await deliver(gateway.url, subscription.event('created', t, { status: 'incomplete' }))).status).toBe(200);
    expect((await deliver(gateway.url, subscription.event('updated', t, { status: 'active' }))).status).toBe(200);
    expect(await prisma().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } })).toMatchObject({
      status: 'active',
      planCode: 'PROFESSIONAL',
    });
    expect(await stripeAudit(accountId)).toHaveLength(1);
  });

  it('maps a subscription without metadata to its account by the linked customer', async () => {
    const accountId = await newAccount(gateway);
    const subscription = subscriptionOf(accountId, { accountId: undefined, planCode: undefined });
    await gateway.services.accounts.linkStripeCustomer(accountId, subscription.customer, { type: 'system:test' });
    expect((await deliver(gateway.url, subscription.event('created', new Date()))).status).toBe(200);
    expect(await planOf(gateway, accountId)).toBe('PROFESSIONAL');
  });

  it('answers 200 to event types it does not handle, and stores them as IGNORED', async () => {
    const event = stripeEvent('customer.updated', { id: 'cus_whatever', object: 'customer' });
    expect(await deliver(gateway.url, event)).toEqual({ status: 200, body: { received: true, status: 'ignored' } });
    expect(await prisma().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({ status: 'IGNORED', type: 'customer.updated' });
    expect((await deliver(gateway.url, event)).body.status).toBe('duplicate');
  });

  it('records trial_will_end', async () => {
    const accountId = await newAccount(gateway);
    const subscription = subscriptionOf(accountId, { status: 'trialing', trialEnd: new Date(Date.now() + 3 * DAY) });
    expect((await deliver(gateway.url, subscription.event('created', new Date(Date.now() - 11 * DAY)))).status).toBe(200);
    const event = subscription.event('trial_will_end', new Date());
    expect((await deliver(gateway.url, event)).body.status).toBe('processed');
    expect(await prisma().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({
      status: 'PROCESSED',
      type: 'customer.subscription.trial_will_end',
    });
    expect(await planOf(gateway, accountId)).toBe('PROFESSIONAL');
  });

  it('ignores invoices of no subscription', async () => {
    const invoice = invoiceObject({ subscription: 'x', customer: 'cus_nobody', paid: true });
    invoice.parent = null;
    const event = stripeEvent('invoice.paid', invoice);
    expect((await deliver(gateway.url, event)).body.status).toBe('ignored');
  });
});
