import { randomUUID } from 'node:crypto';
import { createStripe } from '../../src/billing/stripe-client';
import { MeterSync } from '../../src/billing/meter-sync';
import { reconcile } from '../../src/billing/reconcile';
import { FakeStripe } from '../support/fake-stripe';
import { mulberry32, testSeed } from '../support/random';
import { startTestGateway, type TestGateway } from '../support/harness';

const SYSTEM = { type: 'system:test' } as const;
const MINUTE = 60_000;

describe('billing sync to Stripe meters', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ BILLING_SYNC_IN_GATEWAY: 'false' });
  });
  afterAll(() => gateway?.stop());

  const prisma = () => gateway.services.db.prisma;

  /** Accounts that are Stripe customers, with usage spread over the last hour and a half. */
  async function customersWithUsage(count: number, recordsEach: number) {
    const customers: Array<{ accountId: string; customer: string; units: number }> = [];
    for (let c = 0; c < count; c++) {
      const { accountId, keyId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
      const customer = `cus_${randomUUID().slice(0, 12)}`;
      await gateway.services.accounts.linkStripeCustomer(accountId, customer, SYSTEM);
      let units = 0;
      await Promise.all(
        Array.from({ length: recordsEach }, (_, i) => {
          const costUnits = 1 + (i % 7);
          units += costUnits;
          const occurredAt = new Date(Date.now() - 5_000 - Math.floor((i / recordsEach) * 90) * MINUTE);
          return gateway.services.ledger.record({
            requestId: randomUUID(),
            accountId,
            apiKeyId: keyId,
            planCode: 'PROFESSIONAL',
            operation: 'q',
            costUnits,
            occurredAt,
          });
        }),
      );
      customers.push({ accountId, customer, units });
    }
    return customers;
  }

  function syncTo(url: string, timeoutMs = 200, leaseMs = 5000) {
    const stripe = createStripe({ STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: url }, timeoutMs)!;
    return new MeterSync(
      prisma(),
      stripe,
      { eventName: 'tollgraph_cost_units', eventsPerSecond: 2000, leaseMs, backoffBaseMs: 10, backoffMaxMs: 200 },
      gateway.services.logger,
    );
  }

  const SEED = testSeed();
  it(`leaves Stripe holding exactly the ledger’s units per customer, through 20% failures and lost answers (failures drawn with TEST_SEED=${SEED})`, async () => {
    const fake = new FakeStripe({ failureRate: 0.2, lostResponseRate: 0.1, hangMs: 400, random: mulberry32(SEED) });
    const url = await fake.start();
    try {
      const customers = await customersWithUsage(3, 400);
      await syncTo(url).drain(Date.now() + 60_000);

      const held = fake.unitsByCustomer();
      for (const { customer, units } of customers) expect(held.get(customer)).toBe(units);
      const outcomes = new Set(fake.calls.map((call) => call.outcome));
      expect(outcomes).toEqual(new Set(['ok', '429', '500', 'timeout', 'stored-500']));
      const accountIds = customers.map((c) => c.accountId);
      expect(await prisma().meterReport.count({ where: { accountId: { in: accountIds }, status: { not: 'SENT' } } })).toBe(0);
      expect(await prisma().usageRecord.count({ where: { accountId: { in: accountIds }, reportedAt: null } })).toBe(0);

      // Reconciliation: nothing missing after a clean drain...
      const from = new Date(Date.now() - 4 * 3_600_000);
      const to = new Date();
      const stripe = createStripe({ STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: url })!;
      const clean = (await reconcile(prisma(), stripe, { id: 'mtr_fake', eventName: 'tollgraph_cost_units' }, from, to)).filter((row) =>
        accountIds.includes(row.accountId),
      );
      expect(clean.map((row) => [row.difference, row.windows.length, row.ledgerUnits === row.reportedUnits, row.stripeUnits === row.ledgerUnits])).toEqual(
        accountIds.map(() => [0, 0, true, true]),
      );

      // ...and the window is named when Stripe lost one.
      const lost = await prisma().meterReport.findFirstOrThrow({ where: { accountId: customers[1].accountId }, orderBy: { windowStart: 'asc' } });
      fake.forget(lost.identifier);
      const after = (await reconcile(prisma(), stripe, { id: 'mtr_fake', eventName: 'tollgraph_cost_units' }, from, to)).find(
        (row) => row.accountId === customers[1].accountId,
      )!;
      const hour = new Date(Math.floor(lost.windowStart.getTime() / 3_600_000) * 3_600_000);
      expect(after.difference).toBe(lost.units);
      expect(after.windows).toEqual([
        expect.objectContaining({ windowStart: hour, stripeUnits: expect.any(Number), cause: 'reported to Stripe but missing from its meter' }),
      ]);
      expect(after.windows[0].reportedUnits - after.windows[0].stripeUnits).toBe(lost.units);
    } finally {
      await fake.stop();
    }
  });

  it('shows reported units in usage once the worker has sent them, for windows read before and after they were sent', async () => {
    const fake = new FakeStripe({});
    const url = await fake.start();
    try {
      const { accountId, keyId, key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
      await gateway.services.accounts.linkStripeCustomer(accountId, `cus_${randomUUID().slice(0, 12)}`, SYSTEM);
      // Two closed hours of usage, read once before anything is sent.
      const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
      const records = [
        { occurredAt: new Date(hour - 2 * 3_600_000 + 10 * MINUTE), costUnits: 4 },
        { occurredAt: new Date(hour - 2 * 3_600_000 + 20 * MINUTE), costUnits: 5 },
        { occurredAt: new Date(hour - 3_600_000 + 5 * MINUTE), costUnits: 7 },
      ];
      for (const record of records)
        await gateway.services.ledger.record({ requestId: randomUUID(), accountId, apiKeyId: keyId, planCode: 'PROFESSIONAL', operation: 'q', ...record });
      const usage = async () => {
        const { body } = await gateway.query(
          `{ usage(from: "${new Date(hour - 2 * 3_600_000).toISOString()}", to: "${new Date(hour).toISOString()}", granularity: HOUR) { start requests costUnits reportedUnits pendingUnits } }`,
          { key },
        );
        return body.data.usage;
      };
      const start = (at: number) => new Date(at).toISOString();
      expect(await usage()).toEqual([
        { start: start(hour - 2 * 3_600_000), requests: 2, costUnits: 9, reportedUnits: 0, pendingUnits: 9 },
        { start: start(hour - 3_600_000), requests: 1, costUnits: 7, reportedUnits: 0, pendingUnits: 7 },
      ]);

      await syncTo(url).drain(Date.now() + 30_000);
      expect(await prisma().meterReport.count({ where: { accountId, status: { not: 'SENT' } } })).toBe(0);
      expect(await prisma().meterReport.count({ where: { accountId } })).toBeGreaterThan(0);
      // Nothing new was recorded: the buckets changed because their windows were reported.
      expect(await usage()).toEqual([
        { start: start(hour - 2 * 3_600_000), requests: 2, costUnits: 9, reportedUnits: 9, pendingUnits: 0 },
        { start: start(hour - 3_600_000), requests: 1, costUnits: 7, reportedUnits: 7, pendingUnits: 0 },
      ]);
    } finally {
      await fake.stop();
    }
  });

  it('reports each window once when two workers run at the same time, even when a claim outlives its lease', async () => {
    // A slow Stripe and a short lease: a worker's claim of up to 100 reports takes longer to send
    // than its lease lasts, so the other worker claims the rest; each report is sent by one of them.
    const fake = new FakeStripe({ latencyMs: 20 });
    const url = await fake.start();
    try {
      const customers = await customersWithUsage(2, 300);
      await Promise.all([syncTo(url, 2000, 400).drain(Date.now() + 60_000), syncTo(url, 2000, 400).drain(Date.now() + 60_000)]);
      const sent = fake.calls.map((call) => call.identifier);
      expect(new Set(sent).size).toBe(sent.length); // no identifier sent twice
      const held = fake.unitsByCustomer();
      for (const { customer, units } of customers) expect(held.get(customer)).toBe(units);
    } finally {
      await fake.stop();
    }
  });

  it('flags usage too old for Stripe instead of sending or dropping it', async () => {
    const fake = new FakeStripe();
    const url = await fake.start();
    try {
      const { accountId, keyId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
      await gateway.services.accounts.linkStripeCustomer(accountId, 'cus_old', SYSTEM);
      await gateway.services.ledger.record({
        requestId: randomUUID(),
        accountId,
        apiKeyId: keyId,
        planCode: 'PROFESSIONAL',
        operation: 'q',
        costUnits: 9,
        occurredAt: new Date(Date.now() - 40 * 86_400_000),
      });
      await syncTo(url).drain(Date.now() + 10_000);
      expect(fake.calls).toEqual([]);
      const admin = await gateway.newKey({ role: 'ADMIN' });
      const flagged = await gateway.query('{ meterReports { accountId units status lastError } }', { key: admin.key });
      expect(flagged.body.data.meterReports).toContainEqual({
        accountId,
        units: 9,
        status: 'TOO_OLD',
        lastError: expect.stringMatching(/older than Stripe accepts/),
      });
      const [row] = (await reconcile(prisma(), undefined, undefined, new Date(Date.now() - 41 * 86_400_000), new Date())).filter(
        (r) => r.accountId === accountId,
      );
      expect(row).toMatchObject({ ledgerUnits: 9, tooOldUnits: 9, difference: 0 });
    } finally {
      await fake.stop();
    }
  });
});
