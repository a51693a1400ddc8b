import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { FakeStripe } from '../support/fake-stripe';
import { startTestGateway, type TestGateway } from '../support/harness';
import { recordUsage } from '../support/usage';
import { runBuilt, waitFor } from '../support/process';
import { serviceUrl } from '../support/throwaway-database';

/**
 * The operator commands of the built CLI (`npm run build`, then bin/tollgraph.js), each against
 * the real service it drives: `risk topics` (Kafka), `stripe setup` (stripe-mock), `worker
 * billing` and `billing reconcile` (a recording Stripe, so what it holds can be checked and
 * made to differ). The database is a test gateway's own (migrated and seeded as in production).
 */

const SYSTEM = { type: 'system:test' } as const;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Starts `tollgraph <args>` on a newcomer's environment plus `env`; stdout kept apart from the log. */
function tollgraph(args: string[], env: Record<string, string>) {
  const run = runBuilt('bin/tollgraph.js', { LOG_LEVEL: 'warn', ...env }, args);
  let stdout = '';
  run.child.stdout?.on('data', (chunk) => (stdout += chunk));
  return { ...run, stdout: () => stdout };
}

/** Runs `tollgraph <args>` to its end. */
async function finished(args: string[], env: Record<string, string>): Promise<{ code: number | string; stdout: string; output: string }> {
  const run = tollgraph(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), output: run.output() };
}

describe('tollgraph operator commands', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ BILLING_SYNC_IN_GATEWAY: 'false' });
  });
  afterAll(() => gateway?.stop());
  const prisma = () => gateway.services.db.prisma;

  describe('risk topics', () => {
    const prefix = `tg-cli-topics-${randomBytes(4).toString('hex')}.`;
    const kafka = new Kafka({ clientId: 'tollgraph-test', brokers: serviceUrl('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const names = [
      `${prefix}transactions`,
      `${prefix}transactions.dlq`,
      `${prefix}risk-scores`,
      `${prefix}transactions-by-merchant`,
      `${prefix}customer-spend-features`,
      `${prefix}merchant-risk`,
    ];
    beforeAll(() => admin.connect());
    afterAll(async () => {
      await admin.deleteTopics({ topics: names }).catch(() => undefined);
      await admin.disconnect();
    });

    it('creates the pipeline’s and the operators’ topics with the configured partitions, and is idempotent', async () => {
      const env = { ...gateway.env, KAFKA_BROKERS: serviceUrl('KAFKA_BROKERS'), KAFKA_TOPIC_PREFIX: prefix, TRANSACTIONS_PARTITIONS: '3' };
      expect((await admin.listTopics()).filter((topic) => topic.startsWith(prefix))).toEqual([]);

      const first = await finished(['risk', 'topics'], env);
      expect(first).toMatchObject({ code: 0, stdout: `${names.join('\n')}\n` });
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const partitions = Object.fromEntries(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
      expect(partitions).toEqual({ [names[0]]: 3, [names[1]]: 1, [names[2]]: 3, [names[3]]: 3, [names[4]]: 3, [names[5]]: 3 });

      const again = await finished(['risk', 'topics'], env);
      expect(again).toMatchObject({ code: 0, stdout: `${names.join('\n')}\n` });
      expect((await admin.listTopics()).filter((topic) => topic.startsWith(prefix)).sort()).toEqual([...names].sort());
    });

    it('exits 1 naming the missing setting without KAFKA_BROKERS', async () => {
      const run = await finished(['risk', 'topics'], gateway.env);
      expect(run.code).toBe(1);
      expect(run.output).toContain('KAFKA_BROKERS is not set');
    });
  });

  describe('stripe setup (stripe-mock)', () => {
    it('creates the meter, products and prices and stores their ids with the plans; a second run succeeds', async () => {
      const env = { ...gateway.env, STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_API_BASE: serviceUrl('STRIPE_API_BASE'), LOG_LEVEL: 'error' };
      const run = await finished(['stripe', 'setup', '--json'], env);
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result).toMatchObject({ meterId: expect.stringMatching(/^mtr_|^meter_/), eventName: 'tollgraph_cost_units' });
      expect(result.plans.map((plan: { code: string }) => plan.code)).toEqual(['PROFESSIONAL', 'ENTERPRISE']);

      const stored = await prisma().plan.findMany({ where: { code: { in: ['PROFESSIONAL', 'ENTERPRISE'] } }, orderBy: { dailyQuota: 'asc' } });
      expect(
        stored.map((plan) => ({
          code: plan.code,
          productId: plan.stripeProductId,
          flatPriceId: plan.stripeFlatPriceId,
          meteredPriceId: plan.stripeMeteredPriceId,
        })),
      ).toEqual(result.plans);
      expect(result.plans[0]).toEqual({
        code: 'PROFESSIONAL',
        productId: expect.any(String),
        flatPriceId: expect.stringMatching(/^price_/),
        meteredPriceId: expect.stringMatching(/^price_/),
      });
      expect(result.plans[1]).toMatchObject({ code: 'ENTERPRISE', flatPriceId: null, meteredPriceId: expect.stringMatching(/^price_/) });
      expect((await prisma().setting.findUniqueOrThrow({ where: { key: 'stripe.meter' } })).value).toEqual({
        id: result.meterId,
        eventName: 'tollgraph_cost_units',
      });
      expect(await prisma().auditLog.count({ where: { action: 'stripe.setup' } })).toBe(2);

      const again = await finished(['stripe', 'setup'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^plan\s+product\s+flatPrice\s+meteredPrice\s+meter\nPROFESSIONAL\s/);
      expect((await prisma().plan.findUniqueOrThrow({ where: { code: 'PROFESSIONAL' } })).stripeProductId).toBe(result.plans[0].productId);
    });

    it('exits 1 without STRIPE_SECRET_KEY', async () => {
      const run = await finished(['stripe', 'setup'], gateway.env);
      expect(run.code).toBe(1);
      expect(run.output).toContain('STRIPE_SECRET_KEY is not set');
    });
  });

  describe('worker billing, then billing reconcile', () => {
    const fake = new FakeStripe();
    let stripeEnv: Record<string, string>;
    beforeAll(async () => {
      stripeEnv = { ...gateway.env, STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: await fake.start() };
    });
    afterAll(() => fake.stop());

    // Usage of the last minutes: a Stripe customer's (to report), an account's without a customer
    // (pending, not a discrepancy) and the customer's usage from 40 days ago (too old for Stripe).
    const customer = `cus_${randomBytes(6).toString('hex')}`;
    let billed: { accountId: string; units: number; records: number };
    let unbilled: { accountId: string; units: number };
    const oldUnits = 9;

    const usage = (accountId: string, keyId: string, costs: number[], at: (i: number) => Date) => recordUsage(gateway, { accountId, keyId }, costs, at);

    it('worker billing reports the usage to Stripe, keeps running, and exits 0 on SIGTERM', async () => {
      const paying = await gateway.newKey({ plan: 'PROFESSIONAL' });
      await gateway.services.accounts.linkStripeCustomer(paying.accountId, customer, SYSTEM);
      const now = Date.now();
      const costs = [1, 2, 3, 4, 5, 6, 7];
      billed = {
        accountId: paying.accountId,
        units: await usage(paying.accountId, paying.keyId, costs, (i) => new Date(now - 30_000 - i * 60_000)),
        records: costs.length,
      };
      await usage(paying.accountId, paying.keyId, [oldUnits], () => new Date(now - 40 * DAY));
      const free = await gateway.newKey({ plan: 'PROFESSIONAL' });
      unbilled = { accountId: free.accountId, units: await usage(free.accountId, free.keyId, [4, 4], (i) => new Date(now - 10_000 - i * 1000)) };

      // Info: the line a worker role logs when it runs (src/ops/worker-role.ts).
      const worker = tollgraph(['worker', 'billing'], {
        ...stripeEnv,
        LOG_LEVEL: 'info',
        BILLING_SYNC_INTERVAL_MS: '100',
        STRIPE_METER_EVENTS_PER_SECOND: '1000',
      });
      let ended = false;
      void worker.exited.then(() => (ended = true));
      try {
        await waitFor('the worker to report the usage', async () => {
          if (ended) throw new Error(`the worker exited early:\n${worker.output()}`);
          const pending = await prisma().usageRecord.count({
            where: { accountId: billed.accountId, OR: [{ meterReportId: null }, { meterReport: { status: 'PENDING' } }] },
          });
          return pending === 0 && fake.unitsByCustomer().get(customer) === billed.units;
        });
        expect(worker.output()).toContain('billing worker running');
        // Every window reported once; the old usage flagged, not sent.
        expect(new Set(fake.calls.map((call) => call.identifier)).size).toBe(fake.calls.length);
        const reports = await prisma().meterReport.findMany({ where: { accountId: billed.accountId } });
        expect(reports.filter((report) => report.status === 'SENT').reduce((sum, report) => sum + report.units, 0)).toBe(billed.units);
        expect(reports.filter((report) => report.status === 'TOO_OLD').map((report) => report.units)).toEqual([oldUnits]);
        expect(await prisma().usageRecord.count({ where: { accountId: unbilled.accountId, meterReportId: { not: null } } })).toBe(0);
        // Still running until told to stop.
        expect(ended).toBe(false);
      } finally {
        if (!ended) worker.child.kill('SIGTERM');
      }
      expect(await worker.exited).toBe(0);
    });

    const reconcileArgs = () => [
      'billing',
      'reconcile',
      '--from',
      new Date(Date.now() - 41 * DAY).toISOString(),
      '--to',
      new Date(Date.now() + HOUR).toISOString(),
    ];

    it('billing reconcile exits 0 when every unit is accounted for, and 3 naming the hour when Stripe lost a report', async () => {
      // The meter the CLI asks Stripe about (what `stripe setup` stores).
      await prisma().setting.upsert({
        where: { key: 'stripe.meter' },
        create: { key: 'stripe.meter', value: { id: 'mtr_fake', eventName: 'tollgraph_cost_units' } },
        update: { value: { id: 'mtr_fake', eventName: 'tollgraph_cost_units' } },
      });
      const env = { ...stripeEnv, LOG_LEVEL: 'error' };

      const clean = await finished([...reconcileArgs(), '--json'], env);
      expect(clean.code).toBe(0);
      const rows = JSON.parse(clean.stdout) as Array<Record<string, any>>;
      expect(rows.find((row) => row.accountId === billed.accountId)).toMatchObject({
        stripeCustomerId: customer,
        ledgerUnits: billed.units + oldUnits,
        reportedUnits: billed.units,
        pendingUnits: 0,
        failedUnits: 0,
        tooOldUnits: oldUnits,
        stripeUnits: billed.units,
        difference: 0,
        windows: [],
      });
      expect(rows.find((row) => row.accountId === unbilled.accountId)).toMatchObject({
        stripeCustomerId: null,
        ledgerUnits: unbilled.units,
        pendingUnits: unbilled.units,
        stripeUnits: null,
        difference: 0,
      });
      expect(rows.every((row) => row.difference === 0)).toBe(true);

      // Stripe loses one report: the account's difference is its units, the hour is named, exit 3.
      const lost = await prisma().meterReport.findFirstOrThrow({ where: { accountId: billed.accountId, status: 'SENT' }, orderBy: { windowStart: 'asc' } });
      fake.forget(lost.identifier);
      const hour = new Date(Math.floor(lost.windowStart.getTime() / HOUR) * HOUR);
      const differs = await finished([...reconcileArgs(), '--json'], env);
      expect(differs.code).toBe(3);
      const row = (JSON.parse(differs.stdout) as Array<Record<string, any>>).find((r) => r.accountId === billed.accountId)!;
      expect(row).toMatchObject({ reportedUnits: billed.units, stripeUnits: billed.units - lost.units, difference: lost.units });
      expect(row.windows).toContainEqual({
        windowStart: hour.toISOString(),
        windowEnd: new Date(hour.getTime() + HOUR).toISOString(),
        meter: 'tollgraph_cost_units', // the plans' meter (a product's own has its own rows)
        reportedUnits: expect.any(Number),
        stripeUnits: expect.any(Number),
        cause: 'reported to Stripe but missing from its meter',
      });

      // The table for people says the same, with the same exit code.
      const human = await finished(reconcileArgs(), env);
      expect(human.code).toBe(3);
      expect(human.stdout).toMatch(/^account\s+ledger\s+reported\s+pending\s+failed\s+tooOld\s+stripe\s+difference\s+windows\n/);
      expect(human.stdout).toContain(`${hour.toISOString()} ours`);

      // A window that ends before it starts is a mistake, refused as GraphQL refuses it: not an empty report and exit 0.
      const backwards = await finished(['billing', 'reconcile', '--from', '2026-12-02', '--to', '2026-12-01'], env);
      expect({ code: backwards.code, stdout: backwards.stdout }).toEqual({ code: 1, stdout: '' });
      expect(backwards.output).toContain('tollgraph: from must be before to');
    });
  });
});
