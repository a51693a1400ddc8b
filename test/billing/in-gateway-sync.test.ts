import { randomUUID } from 'node:crypto';
import { FakeStripe } from '../support/fake-stripe';
import { startTestGateway, type TestGateway } from '../support/harness';
import { recordUsage } from '../support/usage';
import { waitFor } from '../support/process';

const SYSTEM = { type: 'system:test' } as const;
const MINUTE = 60_000;
const EVENTS_PER_SECOND = 10;

/**
 * The billing sync a gateway runs by default (BILLING_SYNC_IN_GATEWAY is left unset, so on):
 * nobody calls a worker, yet the ledger's usage reaches Stripe (a recording fake), paced at
 * STRIPE_METER_EVENTS_PER_SECOND.
 */
describe('billing sync inside the gateway (the default)', () => {
  const fake = new FakeStripe();
  let gateway: TestGateway;
  beforeAll(async () => {
    const url = await fake.start();
    gateway = await startTestGateway({
      STRIPE_SECRET_KEY: 'sk_test_fake',
      STRIPE_API_BASE: url,
      BILLING_SYNC_INTERVAL_MS: '100',
      STRIPE_METER_EVENTS_PER_SECOND: String(EVENTS_PER_SECOND),
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await fake.stop();
  });

  it('sends the ledger’s usage to Stripe without anyone running a worker, no faster than the configured rate', async () => {
    expect(gateway.services.config.BILLING_SYNC_IN_GATEWAY).toBe(true);
    const { accountId, keyId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const customer = `cus_${randomUUID().slice(0, 12)}`;
    await gateway.services.accounts.linkStripeCustomer(accountId, customer, SYSTEM);
    // 25 minutes with usage: 25 meter events at least, 2.5 s at 10 a second.
    const costs = Array.from({ length: 25 }, (_, i) => 1 + (i % 4));
    const now = Date.now();
    const units = await recordUsage(gateway, { accountId, keyId }, costs, (i) => new Date(now - 5_000 - i * MINUTE));

    await waitFor('the gateway to report the usage to Stripe', async () => fake.unitsByCustomer().get(customer) === units, 30_000, 50);
    await waitFor(
      'every report to be marked sent',
      async () => (await gateway.services.db.prisma.meterReport.count({ where: { accountId, status: { not: 'SENT' } } })) === 0,
      10_000,
      50,
    );
    expect(await gateway.services.db.prisma.usageRecord.count({ where: { accountId, reportedAt: null } })).toBe(0);
    expect(fake.calls.length).toBeGreaterThanOrEqual(costs.length);
    expect(new Set(fake.calls.map((call) => call.identifier)).size).toBe(fake.calls.length);
    // Paced: never more than the rate (plus slack for network jitter) in any second.
    expect(fake.mostCallsWithin(1000)).toBeLessThanOrEqual(Math.ceil(EVENTS_PER_SECOND * 1.3));
  });
});
