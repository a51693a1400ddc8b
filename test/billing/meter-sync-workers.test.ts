import { randomUUID } from 'node:crypto';
import { createStripe } from '../../src/billing/stripe-client';
import { MeterSync, type MeterSyncOptions } from '../../src/billing/meter-sync';
import { assignMeterReports } from '../../src/billing/meter-reports';
import { FakeStripe } from '../support/fake-stripe';
import { startTestGateway, type TestGateway } from '../support/harness';
import { recordUsage } from '../support/usage';
import { runBuilt, waitFor } from '../support/process';

/**
 * The billing workers' pacing and their hand-over: a report claimed by a worker that dies is
 * sent by another once its lease passes, and a worker killed mid-send leaves Stripe holding
 * exactly the ledger's units once another has run (identifiers fixed per report, deduplicated).
 * Each test drains what it creates, so the next one starts with nothing pending.
 */

const SYSTEM = { type: 'system:test' } as const;
const MINUTE = 60_000;
const EVENT_NAME = 'tollgraph_cost_units';

describe('billing workers: pacing, lease expiry, a worker killed mid-send', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ BILLING_SYNC_IN_GATEWAY: 'false' });
  });
  afterAll(() => gateway?.stop());

  const prisma = () => gateway.services.db.prisma;

  /** A Stripe customer with one ledger record in each of `minutes` distinct minutes (one report each). */
  async function customerWithUsage(minutes: number) {
    const { accountId, keyId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const customer = `cus_${randomUUID().slice(0, 12)}`;
    await gateway.services.accounts.linkStripeCustomer(accountId, customer, SYSTEM);
    const costs = Array.from({ length: minutes }, (_, i) => 2 + (i % 5));
    const now = Date.now();
    return { accountId, customer, units: await recordUsage(gateway, { accountId, keyId }, costs, (i) => new Date(now - 5_000 - i * MINUTE)) };
  }

  function syncTo(url: string, options: Partial<MeterSyncOptions> = {}, timeoutMs = 2000) {
    const stripe = createStripe({ STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: url }, timeoutMs)!;
    return new MeterSync(
      prisma(),
      stripe,
      { eventName: EVENT_NAME, eventsPerSecond: 2000, leaseMs: 5000, backoffBaseMs: 10, backoffMaxMs: 200, ...options },
      gateway.services.logger,
    );
  }

  const callsPerIdentifier = (fake: FakeStripe) => {
    const counts = new Map<string, number>();
    for (const call of fake.calls) counts.set(call.identifier, (counts.get(call.identifier) ?? 0) + 1);
    return counts;
  };

  it('sends no more than eventsPerSecond meter events in any second', async () => {
    const fake = new FakeStripe();
    const url = await fake.start();
    try {
      const perSecond = 20;
      const { customer, units } = await customerWithUsage(40);
      const started = Date.now();
      await syncTo(url, { eventsPerSecond: perSecond }).drain(Date.now() + 30_000);
      expect(fake.unitsByCustomer().get(customer)).toBe(units);
      expect(fake.calls).toHaveLength(40);
      // 40 events at 20 a second: at most 20 (plus slack for jitter) in any second, about 2 s in all.
      expect(fake.mostCallsWithin(1000)).toBeLessThanOrEqual(Math.ceil(perSecond * 1.3));
      const times = fake.calls.map((call) => call.at);
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(0.8 * ((40 - 1) / perSecond) * 1000);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await fake.stop();
    }
  });

  it('leaves a report claimed by a worker that died alone until its lease passes, then another worker sends it once', async () => {
    const fake = new FakeStripe();
    const url = await fake.start();
    try {
      const leaseMs = 1500;
      const { accountId, customer, units } = await customerWithUsage(3);
      expect(await assignMeterReports(prisma(), EVENT_NAME, new Date())).toBe(3);
      const reports = await prisma().meterReport.findMany({ where: { accountId } });

      // Worker 1 claims every due report, then dies before sending any (nothing more runs in it).
      const dying = syncTo(url, { leaseMs });
      const claimedAt = Date.now();
      const claimed = await dying['claim']();
      expect(claimed.map((report) => report.identifier).sort()).toEqual(reports.map((report) => report.identifier).sort());

      // Worker 2, within the lease: the reports are not its to send.
      const survivor = syncTo(url, { leaseMs });
      expect(await survivor.runOnce()).toMatchObject({ sent: 0 });
      expect(fake.calls).toEqual([]);

      // Once the lease has passed, worker 2 takes them over.
      await waitFor(
        'the second worker to send the expired claims',
        async () => {
          await survivor.runOnce();
          return (await prisma().meterReport.count({ where: { accountId, status: 'SENT' } })) === 3;
        },
        15_000,
        100,
      );
      expect(Math.min(...fake.calls.map((call) => call.at))).toBeGreaterThanOrEqual(claimedAt + leaseMs - 100);
      expect([...callsPerIdentifier(fake)].sort()).toEqual(reports.map((report) => [report.identifier, 1]).sort());
      expect(fake.unitsByCustomer().get(customer)).toBe(units);
      // One attempt by the worker that died, one by the worker that sent it.
      expect((await prisma().meterReport.findMany({ where: { accountId } })).map((report) => report.attempts)).toEqual([2, 2, 2]);
    } finally {
      await fake.stop();
    }
  });

  it('assigns a backlog larger than one transaction takes, every record once, in short transactions', async () => {
    const { accountId, customer, units } = await customerWithUsage(7);
    // Batches of 3 records: 7 records in 7 windows take 3 transactions.
    expect(await assignMeterReports(prisma(), EVENT_NAME, new Date(), 3)).toBe(7);
    expect(await prisma().usageRecord.count({ where: { accountId, meterReportId: null } })).toBe(0);
    const reports = await prisma().meterReport.findMany({ where: { accountId } });
    expect(reports.reduce((sum, report) => sum + report.units, 0)).toBe(units);
    expect(new Set(reports.map((report) => report.stripeCustomerId))).toEqual(new Set([customer]));
    const fake = new FakeStripe();
    const url = await fake.start();
    try {
      await syncTo(url).drain(Date.now() + 15_000);
      expect(fake.unitsByCustomer().get(customer)).toBe(units);
    } finally {
      await fake.stop();
    }
  });

  it('a worker that outlived its lease leaves alone a report another worker has sent since', async () => {
    const fake = new FakeStripe();
    const url = await fake.start();
    try {
      const { accountId, customer, units } = await customerWithUsage(1);
      expect(await assignMeterReports(prisma(), EVENT_NAME, new Date())).toBe(1);
      // Worker 1 claims, then stalls past its lease; Stripe is unreachable for it when it wakes.
      const stalled = syncTo('http://127.0.0.1:9', { leaseMs: 60_000 });
      const [claimed] = await stalled['claim']();
      await prisma().meterReport.update({ where: { id: claimed.id }, data: { nextAttemptAt: new Date(Date.now() - 1000) } });
      await syncTo(url).drain(Date.now() + 15_000);
      const sent = await prisma().meterReport.findUniqueOrThrow({ where: { id: claimed.id } });
      expect(sent).toMatchObject({ status: 'SENT', lastError: null });

      expect(await stalled['send'](claimed)).toBe(false);
      // Its failure is not recorded over the other worker's success.
      expect(await prisma().meterReport.findUniqueOrThrow({ where: { id: claimed.id } })).toMatchObject({
        status: 'SENT',
        lastError: null,
        nextAttemptAt: sent.nextAttemptAt,
      });
      expect(fake.unitsByCustomer().get(customer)).toBe(units);
      expect((await prisma().meterReport.findMany({ where: { accountId } })).map((report) => report.status)).toEqual(['SENT']);
    } finally {
      await fake.stop();
    }
  });

  it('after a worker process is killed (SIGKILL) mid-send, another worker leaves Stripe holding exactly the ledger’s units', async () => {
    // Stripe answers three events, then stores the fourth but the answer never comes: the worker is killed waiting for it.
    const fake = new FakeStripe({ holdAfter: 3 });
    const url = await fake.start();
    try {
      const { accountId, customer, units } = await customerWithUsage(8);
      const worker = runBuilt(
        'bin/tollgraph.js',
        {
          ...gateway.env,
          LOG_LEVEL: 'warn',
          STRIPE_SECRET_KEY: 'sk_test_fake',
          STRIPE_API_BASE: url,
          BILLING_SYNC_INTERVAL_MS: '100',
          STRIPE_METER_EVENTS_PER_SECOND: '1000',
        },
        ['worker', 'billing'],
      );
      let ended = false;
      void worker.exited.then(() => (ended = true));
      try {
        await waitFor('the worker to be mid-send', async () => {
          if (ended) throw new Error(`the worker exited early:\n${worker.output()}`);
          return fake.calls.some((call) => call.outcome === 'held');
        });
      } finally {
        worker.child.kill('SIGKILL');
      }
      expect(await worker.exited).toBe('SIGKILL');
      const held = fake.calls.find((call) => call.outcome === 'held')!.identifier;
      expect(fake.calls.map((call) => call.outcome)).toEqual(['ok', 'ok', 'ok', 'held']);
      // Stripe has four events; our side knows of three (the fourth's answer died with the worker).
      expect(await prisma().meterReport.count({ where: { accountId, status: 'SENT' } })).toBe(3);
      expect((await prisma().meterReport.findUniqueOrThrow({ where: { identifier: held } })).status).toBe('PENDING');

      // The dead worker's claims run for the worker's lease (60 s, fixed in src/billing/worker.ts);
      // rather than wait that long, its end is moved to now.
      const leased = await prisma().meterReport.updateMany({
        where: { accountId, status: 'PENDING', nextAttemptAt: { gt: new Date() } },
        data: { nextAttemptAt: new Date() },
      });
      expect(leased.count).toBe(5);

      fake.holdAfter = undefined;
      await syncTo(url).drain(Date.now() + 30_000);

      expect(fake.unitsByCustomer().get(customer)).toBe(units); // nothing doubled, nothing lost
      expect(fake.events.size).toBe(8);
      const perIdentifier = callsPerIdentifier(fake);
      expect(perIdentifier.get(held)).toBe(2); // resent under the same identifier, stored once
      expect([...perIdentifier.values()].sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 2]);
      const reports = await prisma().meterReport.findMany({ where: { accountId } });
      expect(reports.map((report) => report.status)).toEqual(Array(8).fill('SENT'));
      expect(reports.reduce((sum, report) => sum + report.units, 0)).toBe(units);
    } finally {
      await fake.stop();
    }
  });
});
