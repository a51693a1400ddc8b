import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/load';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';
import { consumerProcess, exampleEventId, isolatedSettings, record, storedScores, testTopics, workedExample, type TestTopics } from './support';

const SCORE_FIELDS = 'customerId eventId score band factors { code contribution detail } eventTime computedAt freshnessSeconds modelVersion';

/**
 * Gateway process A is this one (the test harness); consumer process B is a child running
 * `tollgraph risk consume` on the same Postgres, Redis and topics.
 */
describe('risk over GraphQL: queries, and live updates from another process', () => {
  let gateway: TestGateway;
  let topics: TestTopics;
  let consumer: Awaited<ReturnType<typeof consumerProcess>>;
  let key: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway(isolatedSettings());
    topics = await testTopics(loadConfig(gateway.env));
    key = (await gateway.newKey({ plan: 'ENTERPRISE' })).key;
    consumer = await consumerProcess(gateway.env);
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await consumer?.kill('SIGTERM');
    await topics?.close();
    await gateway?.stop();
  });

  const wsClient = (connectionParams: Record<string, unknown>, keepAlive = 0) => {
    const client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      keepAlive,
    });
    clients.push(client);
    return client;
  };

  function collect(client: Client, query: string, variables: Record<string, unknown>) {
    const received: any[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (result) => (result.errors ? errors.push(...result.errors) : received.push(result.data!.riskScoreUpdated)),
        error: (error) => errors.push(error),
        complete: () => undefined,
      },
    );
    return { received, errors };
  }

  /**
   * The worked example for c-42 and one event of c-43, produced once per run of this file by
   * whichever test needs it first (re-producing would be deduplicated, but need not be relied on).
   */
  let produced: Promise<{ rows: ReturnType<typeof workedExample>; other: ReturnType<typeof workedExample>[number]['event'] }> | undefined;
  const produceWorkedExample = () =>
    (produced ??= (async () => {
      const rows = workedExample();
      const other = { ...rows[0].event, eventId: exampleEventId(901), customerId: 'c-43' };
      await topics.produce([...rows.map((row) => record(row.event)), record(other)]);
      return { rows, other };
    })());

  it('delivers scores that consumer process B commits to riskScoreUpdated subscribers on gateway process A, filtered', async () => {
    // Fences: one first transaction (score 0, LOW) of a customer of its own on every partition, produced
    // after the example. A partition is consumed and announced in order, so once a partition's fence
    // has arrived, everything that partition holds has been delivered, or never will be.
    const { TRANSACTIONS_PARTITIONS: partitions } = loadConfig(gateway.env);
    const fences = Array.from({ length: partitions }, (_, partition) => ({
      partition,
      customerId: `c-fence-${partition}`,
      eventId: exampleEventId(950 + partition),
    }));
    // Pings every 50 ms: a pong answers after everything the gateway sent before it (one socket, in order).
    const client = wsClient({ authorization: `Bearer ${key}` }, 50);
    const pongs: number[] = [];
    client.on('pong', () => pongs.push(Date.now()));
    const mine = collect(client, `subscription($ids: [ID!]) { riskScoreUpdated(customerIds: $ids) { ${SCORE_FIELDS} } }`, {
      ids: ['c-42', ...fences.map((fence) => fence.customerId)],
    });
    const high = collect(client, `subscription { riskScoreUpdated(minBand: HIGH) { customerId eventId score band } }`, {});
    await waitFor('both subscriptions to listen', async () => gateway.services.risk.subscribers === 2, 30_000, 20);

    const { rows } = await produceWorkedExample();
    await topics.produce(fences.map(({ partition, customerId, eventId }) => ({ ...record({ ...rows[0].event, customerId, eventId }), partition })));

    const fenced = () => fences.every((fence) => mine.received.some((s) => s.eventId === fence.eventId));
    await waitFor(
      'the 16 scores of c-42 and every fence',
      async () => fenced() && mine.received.filter((s) => s.customerId === 'c-42').length >= 16,
      90_000,
      50,
    ).catch((error) => {
      throw new Error(`${error.message}: ${JSON.stringify(mine)}`);
    });
    // Every score is now delivered to both subscriptions in this process; two pongs later (the second
    // one's ping sent after the fences arrived), everything the gateway sent them has arrived too.
    const fencedAt = Date.now();
    await waitFor('two pongs after the fences', async () => pongs.filter((at) => at >= fencedAt).length >= 2, 30_000, 20);
    expect(mine.errors).toEqual([]);
    expect(high.errors).toEqual([]);
    // Each fence once; the rest is c-42 alone (c-43 is filtered out), each score once (duplicates are not rescored).
    expect(fences.map((fence) => mine.received.filter((s) => s.eventId === fence.eventId).length)).toEqual(fences.map(() => 1));
    const ofC42 = mine.received.filter((s) => !fences.some((fence) => fence.customerId === s.customerId));
    expect(ofC42).toHaveLength(16);
    expect(new Set(ofC42.map((s) => s.customerId))).toEqual(new Set(['c-42']));
    const byEvent = new Map(ofC42.map((s) => [s.eventId, s]));
    for (const row of rows.filter((r) => !r.duplicateOf)) {
      expect(byEvent.get(row.event.eventId)).toMatchObject({
        score: row.score,
        band: row.band,
        modelVersion: 'risk-v1',
        eventTime: new Date(row.event.timestamp).toISOString(),
      });
    }
    expect(byEvent.get(exampleEventId(15)).factors[0]).toEqual({
      code: 'VELOCITY_1M_COUNT',
      contribution: 200,
      detail: '8 transactions in the last minute (more than 3)',
    });
    // Rows 13, 14, 15 of the worked example are HIGH (510, 620, 548); nothing else reaches it.
    expect(high.received.map((s) => s.eventId).sort()).toEqual([13, 14, 15].map(exampleEventId));
  }, 150_000);

  it('answers riskScore, riskScores, riskHistory, topRisks and transactionRisk from what the pipeline wrote', async () => {
    // What it reads it produces itself (once per run of the file) and waits for the pipeline to write.
    await produceWorkedExample();
    await waitFor(
      'the 16 scores of c-42 and the one of c-43 to be written',
      async () => (await storedScores(gateway.services, 'c-42')).size === 16 && (await storedScores(gateway.services, 'c-43')).size === 1,
      90_000,
      100,
    );
    const latest = await gateway.query(
      `query($ids: [ID!]!) { riskScore(customerId: "c-42") { ${SCORE_FIELDS} } riskScores(customerIds: $ids) { customerId score } }`,
      {
        key,
        variables: { ids: ['c-43', 'nobody', 'c-42'] },
      },
    );
    expect(latest.body.errors).toBeUndefined();
    // The newest event (row 15) wins over the late row 16.
    expect(latest.body.data.riskScore).toMatchObject({
      customerId: 'c-42',
      eventId: exampleEventId(15),
      score: 548,
      band: 'HIGH',
      eventTime: '2026-11-24T11:40:58.000Z',
    });
    expect(latest.body.data.riskScore.freshnessSeconds).toBeGreaterThan(0);
    expect(Date.parse(latest.body.data.riskScore.computedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(latest.body.data.riskScores).toEqual([{ customerId: 'c-43', score: 0 }, null, { customerId: 'c-42', score: 548 }]);

    // Newest first, in pages, by event time: 15, 14, 13, 12, 11 | 10, ...; `to` is exclusive.
    const page = (after?: string) =>
      gateway.query(
        `query($after: String) { riskHistory(customerId: "c-42", first: 5, after: $after) { nodes { eventId score } pageInfo { hasNextPage endCursor } } }`,
        { key, variables: { after } },
      );
    const first = (await page()).body.data.riskHistory;
    expect(first.nodes.map((n: { eventId: string }) => n.eventId)).toEqual([15, 14, 13, 12, 11].map(exampleEventId));
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await page(first.pageInfo.endCursor)).body.data.riskHistory;
    expect(second.nodes.map((n: { eventId: string }) => n.eventId)).toEqual([10, 9, 8, 7, 6].map(exampleEventId));
    const windowed = await gateway.query(
      `{ riskHistory(customerId: "c-42", from: "2026-11-24T11:20:00.000Z", to: "2026-11-24T11:35:00.000Z") { nodes { eventId } pageInfo { hasNextPage } } }`,
      { key },
    );
    expect(windowed.body.data.riskHistory).toEqual({ nodes: [6, 16, 5].map((n) => ({ eventId: exampleEventId(n) })), pageInfo: { hasNextPage: false } });

    // The same pages as root fields of one request (and two more customers): one statement reads
    // them all, and each field gets its own page.
    const reads = jest.spyOn(gateway.services.db.prisma, '$queryRawUnsafe');
    const together = await gateway.query(
      `query($after: String) {
        a: riskHistory(customerId: "c-42", first: 5) { nodes { eventId } }
        b: riskHistory(customerId: "c-42", first: 5, after: $after) { nodes { eventId } pageInfo { hasNextPage } }
        w: riskHistory(customerId: "c-42", from: "2026-11-24T11:20:00.000Z", to: "2026-11-24T11:35:00.000Z") { nodes { eventId } }
        o: riskHistory(customerId: "c-43", first: 1) { nodes { eventId } pageInfo { hasNextPage } }
        n: riskHistory(customerId: "nobody") { nodes { eventId } pageInfo { hasNextPage } }
      }`,
      { key, variables: { after: first.pageInfo.endCursor } },
    );
    const historyReads = reads.mock.calls.filter(([statement]) => String(statement).includes('risk_scores'));
    reads.mockRestore();
    const ids = (...ns: number[]) => ns.map((n) => ({ eventId: exampleEventId(n) }));
    expect(together.body.errors).toBeUndefined();
    expect(together.body.data).toEqual({
      a: { nodes: ids(15, 14, 13, 12, 11) },
      b: { nodes: ids(10, 9, 8, 7, 6), pageInfo: { hasNextPage: true } },
      w: { nodes: ids(6, 16, 5) },
      o: { nodes: [{ eventId: expect.any(String) }], pageInfo: { hasNextPage: false } },
      n: { nodes: [], pageInfo: { hasNextPage: false } },
    });
    expect(historyReads).toHaveLength(1);

    // topRisks reads latest_risk_scores, which moves with the consumer's checkpoint (about a second behind).
    const topRisks = async () => (await gateway.query(`{ topRisks(minBand: MEDIUM, first: 10) { customerId score band } }`, { key })).body.data.topRisks;
    await waitFor('the checkpoint to reach topRisks', async () => (await topRisks()).length > 0, 10_000, 100);
    expect(await topRisks()).toEqual([{ customerId: 'c-42', score: 548, band: 'HIGH' }]);

    const tx = await gateway.query(
      `query($id: ID!) { transactionRisk(eventId: $id) { eventId customerId merchantId mcc amount currency country channel deviceId eventTime risk { score band factors { code contribution } } } }`,
      { key, variables: { id: exampleEventId(7) } },
    );
    expect(tx.body.data.transactionRisk).toEqual({
      eventId: exampleEventId(7),
      customerId: 'c-42',
      merchantId: 'm-5',
      mcc: '6011',
      amount: '300.00',
      currency: 'EUR',
      country: 'BR',
      channel: 'ATM',
      deviceId: 'atm-br-1',
      eventTime: '2026-11-24T11:35:00.000Z',
      risk: {
        score: 430,
        band: 'MEDIUM',
        factors: [
          { code: 'IMPOSSIBLE_TRAVEL', contribution: 300 },
          { code: 'NEW_COUNTRY', contribution: 100 },
          { code: 'NEW_MERCHANT', contribution: 30 },
        ],
      },
    });
    expect((await gateway.query(`{ transactionRisk(eventId: "never") { eventId } }`, { key })).body.data.transactionRisk).toBeNull();
  }, 150_000);

  it('refuses bad arguments', async () => {
    const tooMany = await gateway.query(`query($ids: [ID!]!) { riskScores(customerIds: $ids) { score } }`, {
      key,
      variables: { ids: Array.from({ length: 101 }, (_, i) => `c-${i}`) },
    });
    expect(tooMany.body.errors?.[0].extensions.code).toMatch(/BAD_USER_INPUT|QUERY_TOO_COMPLEX/);
    const badCursor = await gateway.query(`{ riskHistory(customerId: "c-42", after: "nonsense") { nodes { eventId } } }`, { key });
    expect(badCursor.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    const badPage = await gateway.query(`{ topRisks(first: 0) { score } }`, { key });
    expect(badPage.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a subscription connection without a valid key', async () => {
    const closed = await new Promise<number>((resolve) => {
      const client = wsClient({ authorization: 'Bearer tg_test_00000000000000000000000000000000' });
      client.on('closed', (event) => resolve((event as { code: number }).code));
      client.subscribe({ query: '{ __typename }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    });
    expect(closed).toBe(4403);
  });
});
