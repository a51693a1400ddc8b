import { randomBytes, randomUUID } from 'node:crypto';
import { riskScoresDataset, transactionsDataset, usageDataset } from '../../src/archive/datasets';
import { objectStoreFor, type ObjectStore } from '../../src/archive/object-store';
import { USAGE_SOURCE } from '../../src/archive/usage-archiver';
import { decodeTransaction } from '../../src/risk/contract';
import type { RiskScoreView } from '../../src/risk/view';
import { freePort, startWorkerProcess } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';
import { archiveSettings, feedMessages } from '../archive/support';
import { directWriter, scoreRecord } from '../archive/direct';
import { referenceRun } from '../risk/support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (time: number) => new Date(time).toISOString();
const hourOf = (time: number) => iso(Math.floor(time / HOUR) * HOUR);

/**
 * The analytics fields end to end: the gateway checks and prices the question, the analytics
 * worker (`tollgraph worker analytics`, chdb in its own process) reads the Parquet in versitygw.
 * Answers are compared with figures computed here from the very records archived.
 */
describe('analytics through GraphQL (worker process, chdb, versitygw)', () => {
  let gateway: TestGateway;
  let store: ObjectStore;
  let worker: Awaited<ReturnType<typeof startWorkerProcess>>;
  const prefix = `test-${randomBytes(4).toString('hex')}/`;
  const messages = feedMessages(1_500, 53);
  const reference = referenceRun(messages);
  const from = Date.parse('2026-11-24T09:00:00Z');
  const to = Date.parse('2026-11-24T12:00:00Z');
  const usageHour = Date.parse('2026-11-23T10:00:00Z');
  const accounts = [randomUUID(), randomUUID()];
  const usage = Array.from({ length: 30 }, (_, i) => ({
    requestId: `req-${i}`,
    accountId: accounts[i % 2],
    apiKeyId: null,
    planCode: 'PROFESSIONAL' as const,
    operation: ['riskScore', 'riskHistory', 'fraudRates'][i % 3],
    meter: 'tollgraph_cost_units',
    costUnits: 1 + (i % 4),
    occurredAt: new Date(usageHour + i * 60_000),
  }));
  const decoded = messages.map((message) => decodeTransaction(message.value, message.key, 4096));
  // One score per valid event, in the first event's order, as the pipeline emits them.
  const views: RiskScoreView[] = [...reference.scores].map(([eventId, summary]) => {
    const tx = decoded.find((d) => d.ok && d.tx.eventId === eventId)!;
    if (!tx.ok) throw new Error('unreachable');
    return {
      eventId,
      customerId: tx.tx.customerId,
      ...summary,
      band: summary.band as RiskScoreView['band'],
      modelVersion: 'test',
      eventTime: iso(tx.tx.time),
      computedAt: iso(tx.tx.time + 50),
    };
  });

  beforeAll(async () => {
    const port = await freePort();
    gateway = await startTestGateway({ ...archiveSettings(prefix), ANALYTICS_URL: `http://127.0.0.1:${port}` });
    store = (await objectStoreFor(gateway.services.config))!;
    const writer = await directWriter(gateway.services.db.sql, store, prefix);
    const records = messages.map((message, offset) => ({ partition: 0, offset, timestamp: from, key: Buffer.from(message.key), value: message.value }));
    await writer.write({
      topic: 'transactions',
      partition: 0,
      dataset: transactionsDataset,
      fromOffset: 0,
      toOffset: records.length,
      rows: records.map((r) => transactionsDataset.row(r)),
    });
    await writer.write({
      topic: 'risk-scores',
      partition: 0,
      dataset: riskScoresDataset,
      fromOffset: 0,
      toOffset: views.length,
      rows: views.map((view, offset) => riskScoresDataset.row(scoreRecord(view, offset))),
    });
    await writer.write({
      topic: USAGE_SOURCE,
      partition: 0,
      dataset: usageDataset,
      fromOffset: usageHour,
      toOffset: usageHour + HOUR,
      rows: usage.map((u) => usageDataset.row(u)),
    });
    worker = await startWorkerProcess(['worker', 'analytics', '--port', String(port)], { ...gateway.env, ...archiveSettings(prefix) });
  }, 120_000);
  afterAll(async () => {
    if (worker) expect(await worker.kill('SIGTERM')).toBe(0);
    if (store) await store.delete(await store.list(prefix));
    await gateway?.stop();
  });

  it('answers fraud rates by the groups asked, and scores by band, as the archived records say', async () => {
    const { key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const groups = new Map<string, { day: string; channel: string; transactions: number; highRisk: number; amountEur: number }>();
    const seen = new Set<string>();
    for (const d of decoded) {
      if (!d.ok || seen.has(d.tx.eventId)) continue;
      seen.add(d.tx.eventId);
      const day = iso(Math.floor(d.tx.time / DAY) * DAY);
      const group = groups.get(`${day}|${d.tx.channel}`) ?? { day, channel: d.tx.channel, transactions: 0, highRisk: 0, amountEur: 0 };
      group.transactions++;
      if (['HIGH', 'CRITICAL'].includes(reference.scores.get(d.tx.eventId)!.band)) group.highRisk++;
      group.amountEur += d.tx.amountEur;
      groups.set(`${day}|${d.tx.channel}`, group);
    }
    const rates = await gateway.query(
      `query($from: DateTime!, $to: DateTime!) { fraudRates(from: $from, to: $to, groupBy: [DAY, CHANNEL], first: 50) {
         truncated rows { hour day mcc country channel transactions highRisk highRiskShare amountEur } } }`,
      { key, variables: { from: iso(from), to: iso(to) } },
    );
    expect(rates.body.errors).toBeUndefined();
    const expected = [...groups.values()].sort((a, b) => (a.channel < b.channel ? -1 : 1));
    expect(rates.body.data.fraudRates.truncated).toBe(false);
    const rows = rates.body.data.fraudRates.rows as Array<Record<string, unknown>>;
    expect(rows.map(({ day, channel, transactions, highRisk, hour, mcc, country }) => ({ day, channel, transactions, highRisk, hour, mcc, country }))).toEqual(
      expected.map(({ day, channel, transactions, highRisk }) => ({ day, channel, transactions, highRisk, hour: null, mcc: null, country: null })),
    );
    expect(rows.some((row) => (row.highRisk as number) > 0)).toBe(true);
    rows.forEach((row, i) => {
      expect(row.highRiskShare).toBeCloseTo(expected[i].highRisk / expected[i].transactions, 4);
      expect(row.amountEur).toBeCloseTo(expected[i].amountEur, 1);
    });

    // The default groups (hour, merchant category, country) outnumber `first`: cut, and said so.
    const cut = await gateway.query(
      `query($from: DateTime!, $to: DateTime!) { fraudRates(from: $from, to: $to, first: 3) { truncated rows { hour mcc country } } }`,
      {
        key,
        variables: { from: iso(from), to: iso(to) },
      },
    );
    expect(cut.body.data.fraudRates.truncated).toBe(true);
    expect(cut.body.data.fraudRates.rows).toHaveLength(3);

    const bands = new Map<string, number>();
    for (const view of views) {
      const slot = `${hourOf(Date.parse(view.eventTime))}|${view.band}`;
      bands.set(slot, (bands.get(slot) ?? 0) + 1);
    }
    const byBand = await gateway.query(
      `query($from: DateTime!, $to: DateTime!) { scoreBands(from: $from, to: $to, first: 100) { truncated rows { hour band scores } } }`,
      {
        key,
        variables: { from: iso(from), to: iso(to) },
      },
    );
    expect(byBand.body.errors).toBeUndefined();
    expect(byBand.body.data.scoreBands.rows).toEqual(
      [...bands].sort(([a], [b]) => (a < b ? -1 : 1)).map(([slot, scores]) => ({ hour: slot.split('|')[0], band: slot.split('|')[1], scores })),
    );
  }, 60_000);

  it('answers usage by account to ADMIN keys only', async () => {
    const admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    const query = `query($from: DateTime!, $to: DateTime!) { usageByAccount(from: $from, to: $to) { rows { accountId operation requests costUnits } } }`;
    const variables = { from: iso(usageHour), to: iso(usageHour + HOUR) };
    const { body } = await gateway.query(query, { key: admin.key, variables });
    expect(body.errors).toBeUndefined();
    const totals = new Map<string, { accountId: string; operation: string; requests: number; costUnits: number }>();
    for (const u of usage) {
      const row = totals.get(`${u.accountId}|${u.operation}`) ?? { accountId: u.accountId, operation: u.operation, requests: 0, costUnits: 0 };
      row.requests++;
      row.costUnits += u.costUnits;
      totals.set(`${u.accountId}|${u.operation}`, row);
    }
    expect(body.data.usageByAccount.rows).toEqual([...totals.keys()].sort().map((k) => totals.get(k)));

    const subscriber = await gateway.newKey({ plan: 'ENTERPRISE' });
    const refused = await gateway.query(query, { key: subscriber.key, variables });
    expect(refused.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
  }, 60_000);

  it('gives a plan without analytics.read FORBIDDEN naming the plan that has it', async () => {
    const { key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const grants = (await gateway.services.plans.get('PROFESSIONAL')).grants;
    await gateway.services.plans.update('PROFESSIONAL', { grants: grants.filter((grant) => grant !== 'analytics.read') as never }, { type: 'system:test' });
    try {
      const { body } = await gateway.query(`{ scoreBands(from: "${iso(from)}", to: "${iso(to)}", first: 1) { truncated } }`, { key });
      expect(body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', requiredGrant: 'analytics.read', upgradeTo: 'ENTERPRISE' });
    } finally {
      await gateway.services.plans.update('PROFESSIONAL', { grants: grants as never }, { type: 'system:test' });
    }
  }, 30_000);
});

/** Without a worker: bad arguments are refused before anything is asked; good ones learn that analytics is not configured. */
describe('analytics arguments and configuration', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway?.stop());

  const ask = async (args: string) => {
    const { key } = await gateway.newKey({ plan: 'ENTERPRISE' });
    return (await gateway.query(`{ fraudRates(${args}) { truncated } }`, { key })).body;
  };

  it('refuses windows too wide or backwards, conflicting or unknown groupings and row limits, before anything else', async () => {
    const wide = await ask('from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z"');
    expect(wide.errors?.[0]).toMatchObject({
      message: 'from and to may be at most 31 days apart',
      extensions: { code: 'BAD_USER_INPUT', fields: ['from', 'to'] },
    });
    const backwards = await ask('from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z"');
    expect(backwards.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: ['from', 'to'] });
    const periods = await ask('from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", groupBy: [HOUR, DAY]');
    expect(periods.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: ['groupBy'] });
    const rows = await ask('from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", first: 0');
    expect(rows.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: ['first'] });
    const unknown = await ask('from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", groupBy: [WEEK]');
    expect(unknown.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('says analytics is not configured when ANALYTICS_URL is unset, the rest of the response intact', async () => {
    const { key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const { status, body } = await gateway.query(
      `{ me { key { id } } scoreBands(from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", first: 1) { truncated } }`,
      { key },
    );
    expect(status).toBe(200);
    expect(body.data).toMatchObject({ me: { key: { id: expect.any(String) } }, scoreBands: null });
    expect(body.errors?.[0]).toMatchObject({
      path: ['scoreBands'],
      message: 'Analytics is not configured on this gateway (ANALYTICS_URL is not set).',
      extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'ANALYTICS_NOT_CONFIGURED' },
    });
  });
});
