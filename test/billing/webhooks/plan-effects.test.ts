import { startTestGateway, type TestGateway } from '../../support/harness';
import { graphql, startGatewayProcess, waitFor, type RunningProcess } from '../../support/process';
import { deliver, invoiceObject, stripeEvent, WEBHOOK_SECRET } from '../../support/stripe-events';
import { DAY, limitsSeenBy, planOf, PRICES, setUpPrices, subscriptionOf } from './helpers';

const FREE_QUOTA = 1_000;
const PROFESSIONAL_QUOTA = 1_000_000;
const ENTERPRISE_QUOTA = 50_000_000;

/**
 * Webhooks arrive at one gateway; the limits change on every gateway within 5 s. The second
 * gateway is a separate process on the same database and Redis (what production runs).
 */
describe('Stripe webhooks change limits on every gateway', () => {
  let gateway: TestGateway;
  let other: RunningProcess;

  beforeAll(async () => {
    gateway = await startTestGateway({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, BILLING_PAST_DUE_GRACE_DAYS: '7', BILLING_GRACE_CHECK_INTERVAL_MS: '500' });
    await setUpPrices(gateway);
    other = await startGatewayProcess({ ...gateway.env, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await other?.stop();
    await gateway?.stop();
  });

  /** Waits until the other process applies `quota` to `key`; returns how long that took. */
  async function otherProcessSees(key: string, quota: number, withinMs = 5_000): Promise<number> {
    const start = Date.now();
    await waitFor(`the other gateway to apply a daily quota of ${quota}`, async () => (await limitsSeenBy(other.url, key)).limit === quota, withinMs, 50);
    return Date.now() - start;
  }

  async function subscribed(plan: 'FREE' | 'PROFESSIONAL' = 'FREE') {
    const { accountId, key } = await gateway.newKey({ plan });
    return { accountId, key, subscription: subscriptionOf(accountId) };
  }

  it('an upgrade raises the quota on another gateway process within 5 s', async () => {
    const { accountId, key, subscription } = await subscribed();
    // The other process has the account cached on FREE.
    expect(await limitsSeenBy(other.url, key)).toEqual({ limit: FREE_QUOTA, plan: 'FREE' });

    expect((await deliver(gateway.url, subscription.event('created', new Date(Date.now() - 1000), { status: 'active' }))).status).toBe(200);
    expect(await otherProcessSees(key, PROFESSIONAL_QUOTA)).toBeLessThan(5_000);

    // And the entitlements with it: `me` on the other process shows the plan and the subscription.
    const me = await graphql(other.url, '{ me { plan { code } limits { dailyQuota } subscription { status planCode stripeSubscriptionId graceEndsAt } } }', {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(me.body.data.me).toEqual({
      plan: { code: 'PROFESSIONAL' },
      limits: { dailyQuota: PROFESSIONAL_QUOTA },
      subscription: { status: 'active', planCode: 'PROFESSIONAL', stripeSubscriptionId: subscription.id, graceEndsAt: null },
    });

    // A plan change in Stripe (new prices on the subscription) goes the same way.
    expect((await deliver(gateway.url, subscription.event('updated', new Date(), { status: 'active', prices: [...PRICES.ENTERPRISE] }))).status).toBe(200);
    expect(await otherProcessSees(key, ENTERPRISE_QUOTA)).toBeLessThan(5_000);

    const audit = await gateway.services.db.prisma.auditLog.findMany({ where: { targetId: accountId, action: 'account.setPlan' }, orderBy: { at: 'asc' } });
    expect(audit.map((entry) => [entry.actorType, (entry.after as { planCode: string }).planCode])).toEqual([
      ['system:stripe', 'PROFESSIONAL'],
      ['system:stripe', 'ENTERPRISE'],
    ]);
  });

  it('a payment failure past its grace period drops the account to FREE limits; a renewed payment restores them', async () => {
    const { accountId, key, subscription } = await subscribed();
    expect((await deliver(gateway.url, subscription.event('created', new Date(Date.now() - 40 * DAY)))).status).toBe(200);
    await otherProcessSees(key, PROFESSIONAL_QUOTA);

    // The renewal failed 8 days ago (grace: 7 days): Stripe's events about it arrive now.
    const failedAt = new Date(Date.now() - 8 * DAY);
    const failure = stripeEvent(
      'invoice.payment_failed',
      invoiceObject({ subscription: subscription.id, customer: subscription.customer, paid: false, prices: [...PRICES.PROFESSIONAL] }),
      { created: failedAt },
    );
    expect((await deliver(gateway.url, failure)).status).toBe(200);
    expect(await otherProcessSees(key, FREE_QUOTA)).toBeLessThan(5_000);
    const row = await gateway.services.db.prisma.subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } });
    expect(row).toMatchObject({ status: 'past_due', planCode: 'PROFESSIONAL', pastDueSince: new Date(Math.floor(failedAt.getTime() / 1000) * 1000) });
    // Stripe's own past_due update, arriving later, changes nothing more.
    expect((await deliver(gateway.url, subscription.event('updated', failedAt, { status: 'past_due' }, { status: 'active' }))).status).toBe(200);
    expect(await planOf(gateway, accountId)).toBe('FREE');

    // A retry succeeds: invoice.paid restores the plan everywhere.
    const paid = stripeEvent(
      'invoice.paid',
      invoiceObject({ subscription: subscription.id, customer: subscription.customer, paid: true, prices: [...PRICES.PROFESSIONAL] }),
      { created: new Date() },
    );
    expect((await deliver(gateway.url, paid)).status).toBe(200);
    expect(await otherProcessSees(key, PROFESSIONAL_QUOTA)).toBeLessThan(5_000);
    expect(await gateway.services.db.prisma.subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } })).toMatchObject({
      status: 'active',
      pastDueSince: null,
    });

    const audit = await gateway.services.db.prisma.auditLog.findMany({
      where: { targetId: accountId, action: 'account.setPlan', actorType: 'system:stripe' },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((entry) => (entry.after as { planCode: string }).planCode)).toEqual(['PROFESSIONAL', 'FREE', 'PROFESSIONAL']);
  });

  it('keeps the plan during the grace period and drops it when the period runs out between events', async () => {
    const { accountId, key, subscription } = await subscribed();
    expect((await deliver(gateway.url, subscription.event('created', new Date(Date.now() - 40 * DAY)))).status).toBe(200);
    // Failed 7 days minus an hour ago: an hour of grace left, far more than this test takes.
    const failedAt = new Date(Date.now() - 7 * DAY + 3_600_000);
    const failure = stripeEvent('invoice.payment_failed', invoiceObject({ subscription: subscription.id, customer: subscription.customer, paid: false }), {
      created: failedAt,
    });
    expect((await deliver(gateway.url, failure)).status).toBe(200);

    expect(await limitsSeenBy(other.url, key)).toEqual({ limit: PROFESSIONAL_QUOTA, plan: 'PROFESSIONAL' });
    const me = await graphql(other.url, '{ me { subscription { status graceEndsAt } } }', { headers: { authorization: `Bearer ${key}` } });
    expect(me.body.data.me.subscription.status).toBe('past_due');
    const graceEndsAt = new Date(me.body.data.me.subscription.graceEndsAt).getTime();
    expect(Math.abs(graceEndsAt - (failedAt.getTime() + 7 * DAY))).toBeLessThan(1_000);

    // No further event: the periodic check (every 500 ms here) moves it to FREE limits, everywhere
    // within 5 s. The check of this process runs on a clock of the test's, moved to either side of
    // the end of the grace period; each step waits for a whole pass of the timer to finish on it.
    const webhooks = gateway.services.stripeWebhooks;
    const checkOnRealClock = webhooks.checkGracePeriods.bind(webhooks);
    let clock = new Date(graceEndsAt - 1);
    const passes: Array<{ at: Date; changed: string[] }> = [];
    const spy = jest.spyOn(webhooks, 'checkGracePeriods').mockImplementation(async (now?: Date) => {
      const at = now ?? clock;
      const changed = await checkOnRealClock(at);
      passes.push({ at, changed });
      return changed;
    });
    try {
      const passAt = async (at: Date) => {
        clock = at;
        await waitFor(`a grace-period check at ${at.toISOString()}`, async () => passes.some((pass) => pass.at === at), 30_000, 50);
        return passes.find((pass) => pass.at === at)!.changed;
      };
      // A millisecond before the grace period ends: nothing changes.
      expect(await passAt(new Date(graceEndsAt - 1))).not.toContain(accountId);
      expect(await planOf(gateway, accountId)).toBe('PROFESSIONAL');
      expect(await limitsSeenBy(other.url, key)).toEqual({ limit: PROFESSIONAL_QUOTA, plan: 'PROFESSIONAL' });
      // When it ends: the periodic check (not an event) moves the account, and every gateway follows.
      expect(await passAt(new Date(graceEndsAt))).toContain(accountId);
      expect(await otherProcessSees(key, FREE_QUOTA)).toBeLessThan(5_000);
    } finally {
      spy.mockRestore();
    }
    const audit = await gateway.services.db.prisma.auditLog.findMany({
      where: { targetId: accountId, action: 'account.setPlan', actorType: 'system:stripe' },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((entry) => [entry.requestId, (entry.after as { planCode: string }).planCode])).toEqual([
      [expect.any(String), 'PROFESSIONAL'],
      ['grace-period', 'FREE'],
    ]);
  });

  it('a failed first payment gives no paid plan; deleting the subscription falls back to FREE', async () => {
    const { accountId, key, subscription } = await subscribed();
    const created = new Date(Date.now() - 60_000);
    expect((await deliver(gateway.url, subscription.event('created', created, { status: 'incomplete' }))).status).toBe(200);
    const failure = stripeEvent(
      'invoice.payment_failed',
      invoiceObject({ subscription: subscription.id, customer: subscription.customer, paid: false, billingReason: 'subscription_create' }),
      { created },
    );
    expect((await deliver(gateway.url, failure)).status).toBe(200);
    expect(await planOf(gateway, accountId)).toBe('FREE');

    const paid = stripeEvent(
      'invoice.paid',
      invoiceObject({ subscription: subscription.id, customer: subscription.customer, paid: true, billingReason: 'subscription_create' }),
      { created: new Date(created.getTime() + 30_000) },
    );
    expect((await deliver(gateway.url, paid)).status).toBe(200);
    await otherProcessSees(key, PROFESSIONAL_QUOTA);

    expect((await deliver(gateway.url, subscription.event('deleted', new Date(), { status: 'canceled', endedAt: new Date() }))).status).toBe(200);
    expect(await otherProcessSees(key, FREE_QUOTA)).toBeLessThan(5_000);
  });
});
