import { startTestGateway, type TestGateway } from '../../support/harness';
import { deliver, newId, stripeEvent, WEBHOOK_SECRET } from '../../support/stripe-events';
import { newAccount, planOf, setUpPrices, subscriptionOf, SYSTEM } from './helpers';

const EVENTS = `query($status: StripeEventStatus, $type: String, $first: Int, $after: String) {
  stripeEvents(status: $status, type: $type, first: $first, after: $after) {
    nodes { id type status error attempts objectId stripeSubscriptionId stripeCreatedAt receivedAt processedAt payload }
    pageInfo { hasNextPage endCursor }
  }
}`;
const REAPPLY = 'mutation($id: ID!) { reapplyStripeEvent(id: $id) { id status error attempts } }';

/** What admins see of Stripe events, and re-applying one that failed. */
describe('Stripe events for admins', () => {
  let gateway: TestGateway;
  let admin: { key: string; keyId: string };
  let subscriber: { key: string };

  beforeAll(async () => {
    gateway = await startTestGateway({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await setUpPrices(gateway);
    admin = await gateway.newKey({ role: 'ADMIN', plan: 'ENTERPRISE' });
    subscriber = await gateway.newKey();
  });
  afterAll(() => gateway?.stop());

  const prisma = () => gateway.services.db.prisma;

  it('keeps an event it cannot apply as FAILED (answering 500 so Stripe retries), lists it, and re-applies it once the cause is fixed', async () => {
    const accountId = await newAccount(gateway);
    // A subscription that names no account, for a customer not linked to one (yet).
    const subscription = subscriptionOf(accountId, { accountId: undefined });
    const event = subscription.event('created', new Date());

    const failed = await deliver(gateway.url, event);
    expect(failed.status).toBe(500);
    expect(failed.body.errors).toEqual([{ message: expect.stringMatching(/no account to apply it to/), extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    expect(await deliver(gateway.url, event)).toMatchObject({ status: 500 }); // Stripe's retry meets the same cause
    expect(await prisma().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: expect.stringMatching(/no account/),
    });
    expect(await planOf(gateway, accountId)).toBe('FREE');

    const listed = await gateway.query(EVENTS, { key: admin.key, variables: { status: 'FAILED' } });
    expect(listed.status).toBe(200);
    const node = listed.body.data.stripeEvents.nodes.find((n: { id: string }) => n.id === event.id);
    expect(node).toMatchObject({
      type: 'customer.subscription.created',
      status: 'FAILED',
      attempts: 2,
      objectId: subscription.id,
      stripeSubscriptionId: subscription.id,
      processedAt: null,
    });
    expect(node.payload.data.object.id).toBe(subscription.id);

    // The cause fixed: the customer is linked to the account. An admin re-applies the event.
    await gateway.services.accounts.linkStripeCustomer(accountId, subscription.customer, SYSTEM);
    const reapplied = await gateway.query(REAPPLY, { key: admin.key, variables: { id: event.id } });
    expect(reapplied.body.data.reapplyStripeEvent).toEqual({ id: event.id, status: 'PROCESSED', error: null, attempts: 3 });
    expect(await planOf(gateway, accountId)).toBe('PROFESSIONAL');
    expect(await prisma().auditLog.findFirst({ where: { action: 'stripeEvent.reapply', targetId: event.id } })).toMatchObject({
      actorType: 'key',
      actorKeyId: admin.keyId,
    });
    expect(await prisma().auditLog.findFirst({ where: { action: 'account.setPlan', targetId: accountId } })).toMatchObject({
      actorType: 'system:stripe',
      requestId: event.id,
    });

    // Stripe's next retry finds it applied.
    expect((await deliver(gateway.url, event)).body.status).toBe('duplicate');
    // Re-applying again is harmless: the state is derived from all the subscription's events.
    expect((await gateway.query(REAPPLY, { key: admin.key, variables: { id: event.id } })).body.data.reapplyStripeEvent.status).toBe('PROCESSED');
    expect(await prisma().auditLog.count({ where: { action: 'account.setPlan', targetId: accountId } })).toBe(1);
  });

  it('settles a failed event of a subscription once a later event of it applies', async () => {
    const accountId = await newAccount(gateway);
    const subscription = subscriptionOf(accountId, { accountId: undefined });
    const first = subscription.event('created', new Date(Date.now() - 60_000));
    expect((await deliver(gateway.url, first)).status).toBe(500);
    await gateway.services.accounts.linkStripeCustomer(accountId, subscription.customer, SYSTEM);
    expect((await deliver(gateway.url, subscription.event('updated', new Date()))).status).toBe(200);
    expect(await prisma().stripeEvent.findUniqueOrThrow({ where: { id: first.id } })).toMatchObject({ status: 'PROCESSED', error: null });
  });

  it('pages through events newest first and filters by type', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const event = stripeEvent('customer.updated', { id: newId('cus'), object: 'customer' });
      expect((await deliver(gateway.url, event)).status).toBe(200);
      ids.push(event.id);
    }
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { body } = await gateway.query(EVENTS, { key: admin.key, variables: { type: 'customer.updated', first: 2, after } });
      const connection = body.data.stripeEvents;
      seen.push(...connection.nodes.map((n: { id: string; status: string }) => n.id));
      expect(connection.nodes.every((n: { status: string; type: string }) => n.status === 'IGNORED' && n.type === 'customer.updated')).toBe(true);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('is for admins only', async () => {
    const listed = await gateway.query(EVENTS, { key: subscriber.key });
    expect(listed.status).toBe(403);
    expect(listed.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const reapplied = await gateway.query(REAPPLY, { key: subscriber.key, variables: { id: 'evt_x' } });
    expect(reapplied.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });

  it('refuses to re-apply an event it does not have', async () => {
    const { body } = await gateway.query(REAPPLY, { key: admin.key, variables: { id: 'evt_unknown' } });
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/no Stripe event/) });
  });
});
