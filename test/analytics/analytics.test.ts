import { randomBytes, randomUUID } from 'node:crypto';
import { objectStoreFor, type ObjectStore } from '../../src/archive/object-store';
import { decodeTransaction } from '../../src/risk/contract';
import { runBuilt, waitFor } from '../support/process';
import { consumerProcess, endOffsetTotal, referenceRun, riskEnv, waitUntilConsumed, type RiskEnv } from '../risk/support';
import { archiveSettings, archiverProcess, feedMessages } from '../archive/support';

const HOUR = 3_600_000;

/**
 * Analytics over the archive (ClickHouse's engine on the Parquet in S3) against the same
 * aggregates computed independently: from PostgreSQL where it holds the same data (score
 * history, usage ledger), from the events themselves where it does not (merchant and country).
 */
describe('analytics over the archive (chdb, versitygw, Kafka, Postgres)', () => {
  let env: RiskEnv;
  let store: ObjectStore;
  const prefix = `test-${randomBytes(4).toString('hex')}/`;
  const messages = feedMessages(4_000, 41);
  const reference = referenceRun(messages);
  // Every event of the feed falls in this window; its usage hours are a day before the test runs.
  const from = Date.parse('2026-11-24T09:00:00Z');
  const to = Date.parse('2026-11-24T12:00:00Z');

  beforeAll(async () => {
    env = await riskEnv({ ...archiveSettings(prefix), TRANSACTIONS_PARTITIONS: '4' });
    store = (await objectStoreFor(env.config))!;
  });
  afterAll(async () => {
    if (store) await store.delete(await store.list(prefix));
    await env?.close();
  });

  const ask = async (question: string, window: { from: number; to: number }, settings = env.env) => {
    const cli = runBuilt('bin/tollgraph.js', settings, [
      'analytics',
      'query',
      question,
      '--from',
      new Date(window.from).toISOString(),
      '--to',
      new Date(window.to).toISOString(),
      '--json',
    ]);
    const code = await cli.exited;
    if (code !== 0) throw new Error(`analytics query ${question} exited ${code}:\n${cli.output()}`);
    return JSON.parse(cli.output()) as Array<Record<string, unknown>>;
  };
  const hourOf = (time: number) => `${new Date(Math.floor(time / HOUR) * HOUR).toISOString().slice(0, 13)}:00:00Z`;

  it("answers no rows, not the engine's refusal, over an archive that holds nothing yet", async () => {
    const empty = { ...env.env, ARCHIVE_PREFIX: `empty-${randomBytes(4).toString('hex')}/` };
    for (const question of ['fraud-rates', 'scores-by-band', 'usage-by-account'])
      expect({ question, rows: await ask(question, { from, to }, empty) }).toEqual({ question, rows: [] });
  }, 120_000);

  it('answers scores by band, fraud rates and usage as PostgreSQL and the events do', async () => {
    const usageHour = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
    const accounts = [randomUUID(), randomUUID()];
    const usage = Array.from({ length: 60 }, (_, i) => ({
      requestId: `req-${i}`,
      accountId: accounts[i % 2],
      operation: ['riskScore', 'riskScores', 'topRisks'][i % 3],
      costUnits: 1 + (i % 4),
      occurredAt: new Date(usageHour + i * 30_000),
    }));
    await env.services.db.sql.query(
      `INSERT INTO usage_records (request_id, account_id, plan_code, operation, cost_units, occurred_at)
       SELECT r, a, 'PROFESSIONAL', o, c, t FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[]) AS u(r, a, o, c, t)`,
      [
        usage.map((u) => u.requestId),
        usage.map((u) => u.accountId),
        usage.map((u) => u.operation),
        usage.map((u) => u.costUnits),
        usage.map((u) => u.occurredAt),
      ],
    );
    await env.produce(messages.map(({ key, value }) => ({ key, value })));
    const consumer = await consumerProcess(env.env);
    const archiver = await archiverProcess({ ...env.env, ARCHIVE_SEGMENT_EVENTS: '1000', ARCHIVE_SEGMENT_MAX_AGE_MS: '300' });
    try {
      await waitUntilConsumed(env, 90_000);
      const archived = async (topic: string) =>
        (
          await env.services.db.sql.query<{ n: number }>(
            `SELECT coalesce(sum(to_offset - from_offset), 0)::int AS n FROM archive_segments WHERE committed AND topic = $1`,
            [topic],
          )
        )[0].n;
      const ends = { transactions: await endOffsetTotal(env.kafka, env.topics.transactions), scores: await endOffsetTotal(env.kafka, env.topics.scores) };
      await waitFor(
        'both topics and the ledger archived',
        async () =>
          (await archived(env.topics.transactions)) >= ends.transactions &&
          (await archived(env.topics.scores)) >= ends.scores &&
          (await archived('usage_records')) > 0,
        90_000,
        200,
      );
    } finally {
      expect(await archiver.kill('SIGTERM')).toBe(0);
      expect(await consumer.kill('SIGTERM')).toBe(0);
    }

    // Scores by hour and band: the PostgreSQL history's figures.
    const history = await env.services.db.sql.query<{ hour: string; band: string; scores: number }>(
      `SELECT to_char(date_trunc('hour', event_time AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00"Z"') AS hour, band::text AS band, count(*)::int AS scores
       FROM risk_scores WHERE event_time >= $1 AND event_time < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
      [new Date(from), new Date(to)],
    );
    expect(history.length).toBeGreaterThan(4);
    expect(await ask('scores-by-band', { from, to })).toEqual(history);

    // Fraud rates by hour, merchant category and country: computed here from the events and the model's bands.
    const groups = new Map<string, { hour: string; mcc: string; country: string; transactions: number; high_risk: number; amount: number }>();
    const seen = new Set<string>();
    for (const message of messages) {
      const decoded = decodeTransaction(message.value, message.key, 4096);
      if (!decoded.ok || seen.has(decoded.tx.eventId)) continue;
      seen.add(decoded.tx.eventId);
      const { tx } = decoded;
      const key = `${hourOf(tx.time)}|${tx.mcc}|${tx.country}`;
      const group = groups.get(key) ?? { hour: hourOf(tx.time), mcc: tx.mcc, country: tx.country, transactions: 0, high_risk: 0, amount: 0 };
      group.transactions++;
      if (['HIGH', 'CRITICAL'].includes(reference.scores.get(tx.eventId)!.band)) group.high_risk++;
      group.amount += tx.amountEur;
      groups.set(key, group);
    }
    const rates = await ask('fraud-rates', { from, to });
    expect(rates.map(({ hour, mcc, country, transactions, high_risk }) => ({ hour, mcc, country, transactions, high_risk }))).toEqual(
      [...groups.values()]
        .sort((a, b) => (`${a.hour}|${a.mcc}|${a.country}` < `${b.hour}|${b.mcc}|${b.country}` ? -1 : 1))
        .map(({ hour, mcc, country, transactions, high_risk }) => ({ hour, mcc, country, transactions, high_risk })),
    );
    expect(rates.some((row) => (row.high_risk as number) > 0)).toBe(true);
    for (const row of rates) {
      const group = groups.get(`${row.hour}|${row.mcc}|${row.country}`)!;
      expect(row.high_risk_share).toBeCloseTo(group.high_risk / group.transactions, 4);
      expect(row.amount_eur).toBeCloseTo(group.amount, 1);
    }

    // Usage by account and operation: the ledger's figures over the archived hour.
    const ledger = await env.services.db.sql.query<{ account_id: string; operation: string; requests: number; cost_units: number }>(
      `SELECT account_id::text, operation, count(*)::int AS requests, sum(cost_units)::int AS cost_units FROM usage_records
       WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
      [new Date(usageHour), new Date(usageHour + HOUR)],
    );
    expect(ledger.length).toBe(6);
    expect(await ask('usage-by-account', { from: usageHour, to: usageHour + HOUR })).toEqual(ledger);
  }, 240_000);
});
