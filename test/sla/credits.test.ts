import { createStripe } from '../../src/billing/stripe-client';
import { issueSlaCredits } from '../../src/sla/credits';
import { SlaRecorder } from '../../src/sla/recorder';
import { FakeStripe } from '../support/fake-stripe';
import { startTestGateway, type TestGateway } from '../support/harness';
import { serviceUrl } from '../support/throwaway-database';

const SYSTEM = { type: 'system:test' } as const;
const MONTH = '2026-11';

/** A month below the plan's availability promise earns one credit on the Stripe balance, however often credits are issued. */
describe('SLA credits', () => {
  let gateway: TestGateway;
  const fake = new FakeStripe();
  let fakeUrl: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    fakeUrl = await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
    await gateway?.stop();
  });

  /** `requests` answers in November, `serverErrors` of them 5xx. */
  async function month(accountId: string, requests: number, serverErrors: number): Promise<void> {
    const recorder = new SlaRecorder(gateway.services.db.sql, gateway.services.logger, 60_000);
    for (let i = 0; i < requests; i++) recorder.record(accountId, 'riskScore', i < serverErrors ? 503 : 200, 12, Date.UTC(2026, 10, 1 + (i % 29), i % 24));
    await recorder.close();
  }

  it('credits a breached month once, on the Stripe balance, and shows it in the report', async () => {
    const { services } = gateway;
    const deps = {
      prisma: services.db.prisma,
      plans: services.plans,
      sla: services.sla,
      logger: services.logger,
      stripe: createStripe({ STRIPE_SECRET_KEY: 'sk_test_credits', STRIPE_API_BASE: fakeUrl }),
    };
    const breached = await gateway.newKey({ plan: 'PROFESSIONAL' }); // 99.8 % < 99.9 %
    const kept = await gateway.newKey({ plan: 'PROFESSIONAL' }); // 99.9 %: the promise, kept
    const free = await gateway.newKey({ plan: 'FREE' }); // no promise
    const noCustomer = await gateway.newKey({ plan: 'PROFESSIONAL' }); // breached, no Stripe customer yet
    await services.accounts.linkStripeCustomer(breached.accountId, 'cus_breached', SYSTEM);
    await month(breached.accountId, 1_000, 2);
    await month(kept.accountId, 1_000, 1);
    await month(free.accountId, 100, 50);
    await month(noCustomer.accountId, 100, 1);

    const first = await issueSlaCredits(deps, MONTH);
    expect(first.map((c) => [c.accountId, c.amountCents, c.currency, c.availability]).sort()).toEqual(
      [
        [breached.accountId, 25_000, 'usd', 0.998],
        [noCustomer.accountId, 25_000, 'usd', 0.99],
      ].sort(),
    );
    expect([...fake.balanceTransactions.values()]).toEqual([expect.objectContaining({ customer: 'cus_breached', amount: -25_000, currency: 'usd' })]);
    expect(first.find((c) => c.accountId === noCustomer.accountId)!.stripeBalanceTransactionId).toBeNull();

    // Again: nothing new anywhere.
    const callsBefore = fake.calls.length;
    await issueSlaCredits(deps, MONTH);
    expect(fake.calls.length).toBe(callsBefore);
    expect(await services.db.prisma.slaCredit.count()).toBe(2);

    // Once the account has a Stripe customer, its credit is sent; the other is not sent again.
    await services.accounts.linkStripeCustomer(noCustomer.accountId, 'cus_later', SYSTEM);
    await issueSlaCredits(deps, MONTH);
    expect([...fake.balanceTransactions.values()].map((t) => [t.customer, t.amount])).toEqual([
      ['cus_breached', -25_000],
      ['cus_later', -25_000],
    ]);

    const { body } = await gateway.query(
      'query($m: String!) { slaReport(month: $m) { availability credit { amountCents currency availability promised stripeBalanceTransactionId } } }',
      { key: breached.key, variables: { m: MONTH } },
    );
    expect(body.data.slaReport).toEqual({
      availability: 0.998,
      credit: { amountCents: 25_000, currency: 'usd', availability: 0.998, promised: 0.999, stripeBalanceTransactionId: 'cbtxn_fake1' },
    });
    const keptReport = await gateway.query('query($m: String!) { slaReport(month: $m) { availability credit { amountCents } } }', {
      key: kept.key,
      variables: { m: MONTH },
    });
    expect(keptReport.body.data.slaReport).toEqual({ availability: 0.999, credit: null });

    await expect(issueSlaCredits(deps, new Date().toISOString().slice(0, 7))).rejects.toThrow(/not over yet/);
  });

  it('sends a credit Stripe accepts (stripe-mock: the API surface)', async () => {
    const stripe = createStripe({ STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_API_BASE: serviceUrl('STRIPE_API_BASE') })!;
    const { services } = gateway;
    const account = await gateway.newKey({ plan: 'PROFESSIONAL' });
    await services.accounts.linkStripeCustomer(account.accountId, 'cus_mock', SYSTEM);
    await month(account.accountId, 100, 1);
    const credits = await issueSlaCredits({ prisma: services.db.prisma, plans: services.plans, sla: services.sla, logger: services.logger, stripe }, MONTH);
    expect(credits.find((c) => c.accountId === account.accountId)!.stripeBalanceTransactionId).toMatch(/^cbtxn_/);
  });
});
