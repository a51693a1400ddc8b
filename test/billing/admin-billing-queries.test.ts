import { randomBytes, randomUUID } from 'node:crypto';
import type { MeterReportStatus } from '../../src/generated/prisma/enums';
import { FakeStripe } from '../support/fake-stripe';
import { startTestGateway, type TestGateway } from '../support/harness';

/**
 * The admins' billing and usage queries (`accountUsage`, `billingReconciliation`, `meterReports`,
 * `quotaAlerts`: all `@AdminOnly`, README "admins have `accountUsage`", "`quotaAlerts` for
 * admins", "`billingReconciliation` for admins", "listed to admins (`meterReports`)"):
 * subscribers are refused them even about their own account while there is data to leak, and
 * what an admin reads equals what this test computes from the records it wrote itself.
 */

const SYSTEM = { type: 'system:test' } as const;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Usage {
  accountId: string;
  units: number;
  at: Date;
  /** The meter report it is in, if any. */
  report?: string;
}

interface Report {
  id: string;
  identifier: string;
  accountId: string;
  windowStart: Date;
  units: number;
  status: MeterReportStatus;
  attempts: number;
  lastError: string | null;
}

describe('admin billing and usage queries', () => {
  const fake = new FakeStripe();
  let gateway: TestGateway;
  let admin: { key: string };
  const usage: Usage[] = [];
  const reports: Report[] = [];
  const now = new Date();
  // The UTC day the recent usage is in: today, or yesterday in the first minutes after midnight,
  // so that every recent record (up to 400 s after `base`) is both within that day and in the past.
  const today = new Date(Math.floor((now.getTime() - 420_000) / DAY) * DAY);
  // Recent usage, all within that day and in the past.
  const base = Math.max(today.getTime(), now.getTime() - 20 * MINUTE);
  const recent = (i: number) => new Date(base + i * 1000);
  const old = new Date(today.getTime() - 40 * DAY + 5 * HOUR);
  let paying: { accountId: string; keyId: string; customer: string };
  let lost: { accountId: string; keyId: string; customer: string };
  let unlinked: { accountId: string; keyId: string };

  async function record(account: { accountId: string; keyId: string }, units: number, at: Date): Promise<Usage> {
    const entry: Usage = { accountId: account.accountId, units, at };
    await gateway.services.ledger.record({
      requestId: randomUUID(),
      accountId: account.accountId,
      apiKeyId: account.keyId,
      planCode: 'PROFESSIONAL',
      operation: 'q',
      costUnits: units,
      occurredAt: at,
    });
    usage.push(entry);
    return entry;
  }

  /** A meter report covering `entries`, in `status`, as the billing worker would have left it. */
  async function report(
    account: { accountId: string; customer: string },
    entries: Usage[],
    status: MeterReportStatus,
    lastError: string | null = null,
  ): Promise<Report> {
    const windowStart = new Date(Math.floor(entries[0].at.getTime() / MINUTE) * MINUTE);
    const units = entries.reduce((sum, entry) => sum + entry.units, 0);
    const created = await gateway.services.db.prisma.meterReport.create({
      data: {
        identifier: `tg-test-${randomUUID()}`,
        accountId: account.accountId,
        stripeCustomerId: account.customer,
        eventName: 'tollgraph_cost_units',
        windowStart,
        windowEnd: new Date(windowStart.getTime() + MINUTE),
        units,
        status,
        attempts: status === 'PENDING' ? 0 : 1,
        lastError,
        sentAt: status === 'SENT' ? new Date() : null,
      },
    });
    await gateway.services.db.prisma.usageRecord.updateMany({
      where: { accountId: account.accountId, occurredAt: { in: entries.map((entry) => entry.at) } },
      data: { meterReportId: created.id, reportedAt: status === 'SENT' ? new Date() : null },
    });
    for (const entry of entries) entry.report = created.id;
    const kept: Report = {
      id: created.id,
      identifier: created.identifier,
      accountId: created.accountId,
      windowStart,
      units,
      status,
      attempts: created.attempts,
      lastError,
    };
    reports.push(kept);
    if (status === 'SENT')
      fake.events.set(created.identifier, {
        identifier: created.identifier,
        customer: account.customer,
        value: units,
        timestamp: Math.floor(windowStart.getTime() / 1000),
      });
    return kept;
  }

  beforeAll(async () => {
    const stripeUrl = await fake.start();
    // LIMITS_MAX_LEASE=0: one round trip per request, so the quota alerts' figures are exact.
    gateway = await startTestGateway({
      STRIPE_SECRET_KEY: 'sk_test_fake',
      STRIPE_API_BASE: stripeUrl,
      BILLING_SYNC_IN_GATEWAY: 'false',
      LIMITS_MAX_LEASE: '0',
    });
    admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    await gateway.services.db.prisma.setting.create({ data: { key: 'stripe.meter', value: { id: 'mtr_fake', eventName: 'tollgraph_cost_units' } } });

    const customer = () => `cus_${randomBytes(6).toString('hex')}`;
    paying = { ...(await gateway.newKey({ plan: 'PROFESSIONAL' })), customer: customer() };
    lost = { ...(await gateway.newKey({ plan: 'PROFESSIONAL' })), customer: customer() };
    unlinked = await gateway.newKey({ plan: 'FREE' });
    await gateway.services.accounts.linkStripeCustomer(paying.accountId, paying.customer, SYSTEM);
    await gateway.services.accounts.linkStripeCustomer(lost.accountId, lost.customer, SYSTEM);

    // The paying customer: sent, refused by Stripe, pending (in a report and not yet in one), and too old.
    const sent = [await record(paying, 3, recent(0)), await record(paying, 4, recent(1))];
    await report(paying, sent, 'SENT');
    await report(paying, [await record(paying, 5, recent(62))], 'FAILED', 'No such customer: cus_gone');
    await report(paying, [await record(paying, 6, recent(123))], 'PENDING');
    await record(paying, 7, recent(124));
    await report(paying, [await record(paying, 9, old)], 'TOO_OLD', 'older than Stripe accepts (35 days): bill it by hand');
    // A customer whose report Stripe does not hold.
    const missing = await report(lost, [await record(lost, 11, recent(200))], 'SENT');
    fake.forget(missing.identifier);
    // No Stripe customer: pending, not billed through Stripe.
    await record(unlinked, 2, recent(300));
    await record(unlinked, 8, recent(301));
  });
  afterAll(async () => {
    await gateway?.stop();
    await fake.stop();
  });

  const sum = (entries: Usage[]) => entries.reduce((total, entry) => total + entry.units, 0);
  const statusOf = (entry: Usage) => reports.find((r) => r.id === entry.report)?.status;
  const iso = (date: Date) => date.toISOString();

  describe('subscribers', () => {
    it.each(['FREE', 'PROFESSIONAL', 'ENTERPRISE'] as const)('on %s are refused all four, about their own account too, and see nothing', async (plan) => {
      const subscriber = await gateway.newKey({ plan });
      // Usage of their own, so there is something of theirs to refuse (kept out of `usage`: not one of the admin checks' accounts).
      await gateway.services.ledger.record({
        requestId: randomUUID(),
        accountId: subscriber.accountId,
        apiKeyId: subscriber.keyId,
        planCode: plan,
        operation: 'q',
        costUnits: 1,
        occurredAt: recent(400),
      });
      const range = `from: "${iso(new Date(today.getTime() - 41 * DAY))}", to: "${iso(new Date(now.getTime() + HOUR))}"`;
      const queries = [
        `{ accountUsage(accountId: "${subscriber.accountId}", ${range}) { costUnits } }`,
        `{ accountUsage(accountId: "${paying.accountId}", ${range}) { costUnits } }`,
        `{ billingReconciliation(${range}) { accountId ledgerUnits } }`,
        '{ meterReports(status: ["PENDING", "SENT", "FAILED", "TOO_OLD"]) { accountId units } }',
        '{ quotaAlerts { accountId usedUnits } }',
      ];
      for (const query of queries) {
        const { status, body } = await gateway.query(query, { key: subscriber.key });
        expect({ query, status, data: body.data ?? null, codes: body.errors?.map((error) => error.extensions?.code) }).toEqual({
          query,
          status: 403,
          data: null,
          codes: ['FORBIDDEN'],
        });
        expect(JSON.stringify(body)).not.toMatch(/ledgerUnits|costUnits|usedUnits|"units"/);
      }
      // Their own usage is theirs to read, through `usage`.
      const own = await gateway.query(`{ usage(${range}) { costUnits } }`, { key: subscriber.key });
      expect(own.body.data.usage).toEqual([{ costUnits: 1 }]);
    });
  });

  describe('values an admin reads', () => {
    it('billingReconciliation: per account, the ledger split as the records were left, and Stripe’s meter against what was reported', async () => {
      const from = new Date(today.getTime() - 41 * DAY);
      const to = new Date(now.getTime() + HOUR);
      const { body } = await gateway.query(
        `{ billingReconciliation(from: "${iso(from)}", to: "${iso(to)}") { accountId stripeCustomerId ledgerUnits reportedUnits pendingUnits failedUnits tooOldUnits stripeUnits difference causes windows { windowStart windowEnd reportedUnits stripeUnits cause } } }`,
        { key: admin.key },
      );
      expect(body.errors).toBeUndefined();
      const mine = [paying.accountId, lost.accountId, unlinked.accountId];
      const rows = (body.data.billingReconciliation as Array<{ accountId: string }>).filter((row) => mine.includes(row.accountId));

      const expected = mine.map((accountId) => {
        const of = usage.filter((entry) => entry.accountId === accountId && entry.at >= from && entry.at < to);
        const by = (status: MeterReportStatus | undefined) => sum(of.filter((entry) => statusOf(entry) === status));
        const customer = accountId === paying.accountId ? paying.customer : accountId === lost.accountId ? lost.customer : null;
        const sentReports = reports.filter((r) => r.accountId === accountId && r.status === 'SENT');
        const held = sum(of.filter((entry) => statusOf(entry) === 'SENT' && entry.report && fakeHolds(entry.report)));
        const windows = sentReports
          .filter((r) => !fakeHolds(r.id))
          .map((r) => {
            const hour = Math.floor(r.windowStart.getTime() / HOUR) * HOUR;
            return {
              windowStart: iso(new Date(hour)),
              windowEnd: iso(new Date(hour + HOUR)),
              reportedUnits: r.units,
              stripeUnits: 0,
              cause: 'reported to Stripe but missing from its meter',
            };
          });
        return {
          accountId,
          stripeCustomerId: customer,
          ledgerUnits: sum(of),
          reportedUnits: by('SENT'),
          pendingUnits: by('PENDING') + by(undefined),
          failedUnits: by('FAILED'),
          tooOldUnits: by('TOO_OLD'),
          stripeUnits: customer ? held : null,
          difference: windows.reduce((total, w) => total + w.reportedUnits - w.stripeUnits, 0),
          causes: expect.any(Array),
          windows,
        };
      });
      expect(rows).toEqual(expected);
      // The figures the test set up, spelt out.
      expect(
        expected.map((row) => [row.ledgerUnits, row.reportedUnits, row.pendingUnits, row.failedUnits, row.tooOldUnits, row.stripeUnits, row.difference]),
      ).toEqual([
        [34, 7, 13, 5, 9, 7, 0],
        [11, 11, 0, 0, 0, 0, 11],
        [10, 0, 10, 0, 0, null, 0],
      ]);
      const unlinkedRow = rows.find((row) => row.accountId === unlinked.accountId) as unknown as { causes: string[] };
      expect(unlinkedRow.causes).toEqual(['10 units on an account without a Stripe customer (not billed through Stripe)']);

      // A range that leaves out the old usage leaves out its units.
      const recentOnly = await gateway.query(`{ billingReconciliation(from: "${iso(today)}", to: "${iso(to)}") { accountId ledgerUnits tooOldUnits } }`, {
        key: admin.key,
      });
      expect(recentOnly.body.data.billingReconciliation.find((row: { accountId: string }) => row.accountId === paying.accountId)).toEqual({
        accountId: paying.accountId,
        ledgerUnits: 25,
        tooOldUnits: 0,
      });

      function fakeHolds(reportId: string): boolean {
        const identifier = reports.find((r) => r.id === reportId)!.identifier;
        return fake.events.has(identifier);
      }
    });

    it('meterReports: the reports needing attention by default, any status on request, newest window first', async () => {
      const view = (r: Report) => ({
        id: r.id,
        identifier: r.identifier,
        accountId: r.accountId,
        windowStart: iso(r.windowStart),
        units: r.units,
        status: r.status,
        attempts: r.attempts,
        lastError: r.lastError,
      });
      const newestFirst = (a: Report, b: Report) => b.windowStart.getTime() - a.windowStart.getTime();
      const fields = '{ id identifier accountId windowStart units status attempts lastError }';

      const attention = await gateway.query(`{ meterReports ${fields} }`, { key: admin.key });
      expect(attention.body.data.meterReports).toEqual(
        reports
          .filter((r) => r.status === 'FAILED' || r.status === 'TOO_OLD')
          .sort(newestFirst)
          .map(view),
      );
      expect(attention.body.data.meterReports.map((r: { status: string; units: number }) => [r.status, r.units])).toEqual([
        ['FAILED', 5],
        ['TOO_OLD', 9],
      ]);

      const sentOrPending = await gateway.query(`{ meterReports(status: ["SENT", "PENDING"]) ${fields} }`, { key: admin.key });
      expect(sentOrPending.body.data.meterReports).toEqual(
        reports
          .filter((r) => r.status === 'SENT' || r.status === 'PENDING')
          .sort(newestFirst)
          .map(view),
      );

      const bad = await gateway.query('{ meterReports(status: ["LOST"]) { id } }', { key: admin.key });
      expect(bad.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('accountUsage: per day and per hour, requests, units, reported and pending as recorded', async () => {
      const tomorrow = new Date(today.getTime() + DAY);
      for (const account of [paying, lost, unlinked]) {
        const todays = usage.filter((entry) => entry.accountId === account.accountId && entry.at >= today);
        const bucket = (start: Date, length: number, entries: Usage[]) => {
          const reported = sum(entries.filter((entry) => statusOf(entry) === 'SENT'));
          return {
            start: iso(start),
            end: iso(new Date(start.getTime() + length)),
            requests: entries.length,
            costUnits: sum(entries),
            reportedUnits: reported,
            pendingUnits: sum(entries) - reported,
          };
        };
        const fields = '{ start end requests costUnits reportedUnits pendingUnits }';
        const daily = await gateway.query(
          `{ accountUsage(accountId: "${account.accountId}", from: "${iso(today)}", to: "${iso(tomorrow)}", granularity: DAY) ${fields} }`,
          { key: admin.key },
        );
        expect(daily.body.data.accountUsage).toEqual([bucket(today, DAY, todays)]);

        const hours = [...new Set(todays.map((entry) => Math.floor(entry.at.getTime() / HOUR) * HOUR))].sort((a, b) => a - b);
        const hourly = await gateway.query(
          `{ accountUsage(accountId: "${account.accountId}", from: "${iso(today)}", to: "${iso(tomorrow)}", granularity: HOUR) ${fields} }`,
          { key: admin.key },
        );
        expect(hourly.body.data.accountUsage).toEqual(
          hours.map((hour) =>
            bucket(
              new Date(hour),
              HOUR,
              todays.filter((entry) => Math.floor(entry.at.getTime() / HOUR) * HOUR === hour),
            ),
          ),
        );
      }
      const paid = await gateway.query(
        `{ accountUsage(accountId: "${paying.accountId}", from: "${iso(today)}", to: "${iso(tomorrow)}") { requests costUnits reportedUnits pendingUnits } }`,
        { key: admin.key },
      );
      expect(paid.body.data.accountUsage).toEqual([{ requests: 5, costUnits: 25, reportedUnits: 7, pendingUnits: 18 }]);
    });

    // A day nobody asked about on the day: the rollups catch up from the ledger when read.
    it('accountUsage: a past day’s usage (40 days ago) is there as recorded', async () => {
      const day = new Date(Math.floor(old.getTime() / DAY) * DAY);
      const { body } = await gateway.query(
        `{ accountUsage(accountId: "${paying.accountId}", from: "${iso(day)}", to: "${iso(new Date(day.getTime() + DAY))}") { start requests costUnits reportedUnits pendingUnits } }`,
        { key: admin.key },
      );
      expect(body.data.accountUsage).toEqual([{ start: iso(day), requests: 1, costUnits: 9, reportedUnits: 0, pendingUnits: 9 }]);
    });

    it('billingReconciliation: a window that ends before it starts is BAD_USER_INPUT (as the CLI refuses it)', async () => {
      const { status, body } = await gateway.query(
        `{ billingReconciliation(from: "${iso(today)}", to: "${iso(new Date(today.getTime() - DAY))}") { accountId } }`,
        {
          key: admin.key,
        },
      );
      expect({ status, errors: body.errors?.map((error) => [error.message, error.extensions?.code]) }).toEqual({
        status: 400,
        errors: [['from must be before to', 'BAD_USER_INPUT']],
      });
    });

    // An id of no account is the admin's mistake, named as such: not a server error (it was one, from a foreign key).
    it('accountUsage: an account that does not exist is BAD_USER_INPUT "account not found", and nothing is written for it', async () => {
      const nobody = randomUUID();
      const { status, body } = await gateway.query(
        `{ accountUsage(accountId: "${nobody}", from: "${iso(today)}", to: "${iso(new Date(today.getTime() + DAY))}") { costUnits } }`,
        { key: admin.key },
      );
      expect({ status, data: body.data, errors: body.errors?.map((error) => [error.message, error.extensions?.code, error.path]) }).toEqual({
        status: 400,
        data: null,
        errors: [['account not found', 'BAD_USER_INPUT', ['accountUsage']]],
      });
      expect(await gateway.services.db.prisma.usageRollupMark.count({ where: { accountId: nobody } })).toBe(0);
    });

    it('quotaAlerts: crossing 80 % and 100 % of the daily quota, once each, with the units used then; other days by `day`', async () => {
      const subscriber = await gateway.newKey({ plan: 'PROFESSIONAL' });
      const quota = 10;
      await gateway.services.accounts.setOverrides(subscriber.accountId, { dailyQuota: quota }, SYSTEM);
      // Each call costs 1 unit, all of it used (the account exists): 10 admitted, the 11th refused.
      const statuses: number[] = [];
      for (let i = 0; i < quota + 2; i++)
        statuses.push((await gateway.query(`{ account(id: "${subscriber.accountId}") { id } }`, { key: subscriber.key })).status);
      expect(statuses).toEqual([...Array(quota).fill(200), 429, 429]);

      // Quota alerts belong to the UTC day the requests were made in (not the recent usage's day).
      const alertDay = new Date(Math.floor(Date.now() / DAY) * DAY);
      const yesterday = new Date(alertDay.getTime() - DAY);
      const earlier = await gateway.services.db.prisma.quotaAlert.create({
        data: { accountId: paying.accountId, day: yesterday, threshold: 80, usedUnits: 800_000, quota: 1_000_000 },
      });

      const day = iso(alertDay).slice(0, 10);
      const { body } = await gateway.query('{ quotaAlerts { accountId day threshold usedUnits quota } }', { key: admin.key });
      // Newest first: 100 % was crossed after 80 %.
      expect(body.data.quotaAlerts).toEqual([
        { accountId: subscriber.accountId, day, threshold: 100, usedUnits: Math.ceil(quota * 1.0), quota },
        { accountId: subscriber.accountId, day, threshold: 80, usedUnits: Math.ceil(quota * 0.8), quota },
      ]);
      const before = await gateway.query(`{ quotaAlerts(day: "${iso(yesterday).slice(0, 10)}") { id accountId day threshold usedUnits quota } }`, {
        key: admin.key,
      });
      expect(before.body.data.quotaAlerts).toEqual([
        { id: earlier.id, accountId: paying.accountId, day: iso(yesterday).slice(0, 10), threshold: 80, usedUnits: 800_000, quota: 1_000_000 },
      ]);
      const bad = await gateway.query('{ quotaAlerts(day: "yesterday") { id } }', { key: admin.key });
      expect(bad.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    });
  });
});
