import type { Sql } from '../../src/db/sql';
import { LATENCY_BOUNDS_MS } from '../../src/sla/buckets';
import { SlaRecorder } from '../../src/sla/recorder';
import { startTestGateway, type TestGateway } from '../support/harness';

interface Raw {
  operation: string;
  status: number;
  ms: number;
  at: number;
}

/** The figures straight from the raw records: counts, and each quantile as the bucket bound of the record at its rank. */
function expected(records: Raw[]) {
  const bound = (ms: number) => LATENCY_BOUNDS_MS.find((b) => ms <= b) ?? null;
  const quantile = (sorted: number[], q: number) => bound(sorted[Math.ceil(q * sorted.length) - 1]);
  const operations = [...new Set(records.map((r) => r.operation))].map((operation) => {
    const mine = records.filter((r) => r.operation === operation);
    const sorted = mine.map((r) => r.ms).sort((a, b) => a - b);
    return {
      operation,
      requests: mine.length,
      serverErrors: mine.filter((r) => r.status >= 500).length,
      p50Ms: quantile(sorted, 0.5),
      p95Ms: quantile(sorted, 0.95),
      p99Ms: quantile(sorted, 0.99),
    };
  });
  const serverErrors = records.filter((r) => r.status >= 500).length;
  return {
    requests: records.length,
    serverErrors,
    availability: (records.length - serverErrors) / records.length,
    operations: operations.sort((a, b) => b.requests - a.requests || a.operation.localeCompare(b.operation)),
  };
}

describe('SLA reports', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway?.stop());

  it('equal the figures computed from the raw records, however many processes counted them', async () => {
    const { accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    // Two processes' recorders on the same database, records over two hours of November and one in December.
    const recorders = [
      new SlaRecorder(gateway.services.db.sql, gateway.services.logger, 60_000),
      new SlaRecorder(gateway.services.db.sql, gateway.services.logger, 60_000),
    ];
    const november = Date.UTC(2026, 10, 30, 22, 10);
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const records: Raw[] = Array.from({ length: 3_000 }, (_, i) => ({
      operation: i % 3 === 0 ? 'riskHistory' : 'riskScore',
      status: random() < 0.004 ? 503 : random() < 0.01 ? 400 : 200,
      ms: random() < 0.002 ? 6_000 + random() * 1000 : random() ** 3 * 400,
      at: november + Math.floor(random() * 110 * 60_000), // 22:10 to 24:00
    }));
    const december: Raw = { operation: 'riskScore', status: 500, ms: 20, at: Date.UTC(2026, 11, 1, 0, 0, 1) };
    [...records, december].forEach((r, i) => {
      recorders[i % 2].record(accountId, r.operation, r.status, r.ms, r.at);
    });
    await Promise.all(recorders.map((recorder) => recorder.close()));

    const report = await gateway.services.sla.report(accountId, '2026-11');
    expect({
      requests: report.requests,
      serverErrors: report.serverErrors,
      availability: report.availability,
      operations: report.operations.map(({ latencyBuckets: _, ...op }) => op),
    }).toEqual(expected(records));
    expect(report.operations.find((op) => op.operation === 'riskScore')!.latencyBuckets.reduce((a, b) => a + b, 0)).toBe(
      records.filter((r) => r.operation === 'riskScore').length,
    );
    // The record a second past midnight UTC is December's.
    expect((await gateway.services.sla.report(accountId, '2026-12')).requests).toBeGreaterThanOrEqual(1);
    await expect(gateway.services.sla.report(accountId, '2026-13')).rejects.toThrow(/month must be YYYY-MM/);
  });

  it('counts a batch of counts once when its answer was lost, committed or not: it is sent again as it was', async () => {
    const { accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const real = gateway.services.db.sql;
    // The next count write fails: before the database saw it, or after it committed (the answer lost).
    let failNext: 'before' | 'after' | undefined;
    const flaky: Sql = {
      ...real,
      query: async <R>(text: string, params?: unknown[], name?: string) => {
        const failure = text.includes('INTO sla_hours') ? failNext : undefined;
        if (failure) failNext = undefined;
        if (failure === 'before') throw new Error('connection refused');
        const rows = await real.query<R>(text, params, name);
        if (failure === 'after') throw new Error('connection reset after the commit');
        return rows;
      },
    };
    const recorder = new SlaRecorder(flaky, gateway.services.logger, 60_000);
    const at = Date.UTC(2026, 9, 15, 12);
    const record = (n: number, status = 200) => {
      for (let i = 0; i < n; i++) recorder.record(accountId, 'riskScore', status, 5, at);
    };
    record(3);
    record(1, 503);
    failNext = 'after';
    await recorder.flush();
    record(2);
    failNext = 'before';
    await recorder.flush();
    record(1, 500);
    await recorder.flush(); // both earlier batches again, then this one
    await recorder.close();
    const report = await gateway.services.sla.report(accountId, '2026-10');
    expect({ requests: report.requests, serverErrors: report.serverErrors }).toEqual({ requests: 7, serverErrors: 2 });
  });

  it('counts every answered request of the account through the gateway, its own only, and admins see any', async () => {
    const subscriber = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const other = await gateway.newKey({ plan: 'FREE' });
    const admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    const OWN = `{ account(id: "${subscriber.accountId}") { id } }`;
    for (let i = 0; i < 7; i++) expect((await gateway.query(OWN, { key: subscriber.key })).status).toBe(200);
    expect((await gateway.query('{ plans { code } rateLimit { remaining } }', { key: subscriber.key })).status).toBe(200);
    expect((await gateway.query(OWN, { key: other.key })).status).toBe(200); // another account's: its own row, not this one's
    const month = new Date().toISOString().slice(0, 7);
    const REPORT = `query($m: String!) { slaReport(month: $m) { month requests serverErrors availability promise latencyBoundsMs operations { operation requests serverErrors p99Ms latencyBuckets } } }`;
    const { body } = await gateway.query(REPORT, { key: subscriber.key, variables: { m: month } });
    expect(body.errors).toBeUndefined();
    const report = body.data.slaReport;
    expect(report).toMatchObject({
      month,
      requests: 8,
      serverErrors: 0,
      availability: 1,
      promise: expect.stringContaining('99.9%'),
      latencyBoundsMs: [...LATENCY_BOUNDS_MS],
    });
    expect(report.operations.map((op: { operation: string; requests: number }) => [op.operation, op.requests])).toEqual([
      ['account', 7],
      ['plans,rateLimit', 1],
    ]);
    const byAdmin = await gateway.query(`query($a: ID!, $m: String!) { accountSlaReport(accountId: $a, month: $m) { requests } }`, {
      key: admin.key,
      variables: { a: other.accountId, m: month },
    });
    expect(byAdmin.body.data.accountSlaReport.requests).toBe(1);
    const notAdmin = await gateway.query(`query($a: ID!, $m: String!) { accountSlaReport(accountId: $a, month: $m) { requests } }`, {
      key: subscriber.key,
      variables: { a: other.accountId, m: month },
    });
    expect(notAdmin.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});
