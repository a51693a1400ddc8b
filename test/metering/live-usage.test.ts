import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';
import { encodeViews, SCORES_CHANNEL, type RiskScoreView } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';

const SYSTEM = { type: 'system:test' } as const;

/** A live feed is billed like queries: each delivered event costs units and has its ledger row. */
describe('metered subscriptions', () => {
  let gateway: TestGateway;
  const clients: Client[] = [];
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gateway?.stop();
  });

  const view = (customerId: string, i: number): RiskScoreView => ({
    customerId,
    eventId: randomUUID(),
    score: 100 + i,
    band: 'LOW',
    factors: [],
    eventTime: new Date(Date.now() - 1000 + i).toISOString(),
    computedAt: new Date().toISOString(),
    modelVersion: 'test',
  });

  /** Subscribes with `key` to the scores of one customer; collects what arrives. */
  async function liveFeed(key: string, customerId: string, operation: string) {
    const client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });
    clients.push(client);
    const feed = { received: [] as number[], errors: [] as Array<{ extensions?: Record<string, unknown> }>, completed: false };
    const before = gateway.services.risk.subscribers;
    client.subscribe(
      { query: `subscription ${operation}($ids: [ID!]) { riskScoreUpdated(customerIds: $ids) { customerId score } }`, variables: { ids: [customerId] } },
      {
        next: (result) =>
          result.errors
            ? feed.errors.push(...(result.errors as never[]))
            : feed.received.push((result.data as { riskScoreUpdated: { score: number } }).riskScoreUpdated.score),
        error: (error) => feed.errors.push({ extensions: { transport: String(error) } }),
        complete: () => (feed.completed = true),
      },
    );
    await waitFor('the subscription to listen', async () => gateway.services.risk.subscribers > before, 10_000, 20);
    return feed;
  }
  const publish = (customerId: string, ...scores: number[]) =>
    gateway.services.pubsub.publish(SCORES_CHANNEL, encodeViews(scores.map((i) => view(customerId, i))));

  it('charges each delivered event to the daily quota and the ledger, and ends the feed with QUOTA_EXCEEDED when it is spent', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    await gateway.services.accounts.setOverrides(accountId, { dailyQuota: 3 }, SYSTEM);
    const customerId = `c-live-${randomUUID().slice(0, 8)}`;
    const feed = await liveFeed(key, customerId, 'Live');
    await publish(customerId, 0, 1, 2, 3, 4);
    await waitFor('the feed to end', async () => feed.completed, 10_000, 20);

    expect(feed.received).toEqual([100, 101, 102]);
    expect(feed.errors).toHaveLength(1);
    expect(feed.errors[0].extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 3 });
    expect(feed.errors[0].extensions).not.toHaveProperty('http');
    const records = await gateway.services.db.prisma.usageRecord.findMany({ where: { accountId }, orderBy: { requestId: 'asc' } });
    expect(records.map((r) => [r.operation, r.costUnits, r.planCode])).toEqual([
      ['Live', 1, 'PROFESSIONAL'],
      ['Live', 1, 'PROFESSIONAL'],
      ['Live', 1, 'PROFESSIONAL'],
    ]);
    expect(new Set(records.map((r) => r.requestId.replace(/:\d+$/, ''))).size).toBe(1);
    // The same quota as queries: nothing left for HTTP either.
    const rate = await gateway.query('{ rateLimit { used remaining } }', { key });
    expect(rate.body.data.rateLimit).toEqual({ used: 3, remaining: 0 });
  });

  it('counts each delivered event for the account’s service level, and an event whose usage could not be recorded as a server fault', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'ENTERPRISE' });
    const customerId = `c-live-${randomUUID().slice(0, 8)}`;
    const feed = await liveFeed(key, customerId, 'Counted');
    await publish(customerId, 0, 1);
    await waitFor('two events', async () => feed.received.length === 2, 10_000, 20);
    // The ledger refuses the next event's record: the feed ends with SERVICE_UNAVAILABLE, and that is the server's fault.
    const ledger = jest.spyOn(gateway.services.ledger, 'record').mockRejectedValueOnce(new Error('the ledger is down'));
    try {
      await publish(customerId, 2);
      await waitFor('the feed to end', async () => feed.completed, 10_000, 20);
    } finally {
      ledger.mockRestore();
    }
    expect(feed.errors.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    await gateway.services.sla.recorder.flush();
    const rows = await gateway.services.db.sql.query<{ operation: string; requests: number; server_errors: number; buckets: number }>(
      `SELECT operation, requests, server_errors, (SELECT sum(b)::int FROM unnest(latency_buckets) b) AS buckets FROM sla_hours WHERE account_id = $1`,
      [accountId],
    );
    expect(rows).toEqual([{ operation: 'riskScoreUpdated', requests: 3, server_errors: 1, buckets: 3 }]);
  });

  it('ends the feed with UNAUTHENTICATED once its key is revoked, and bills nothing after', async () => {
    const { key, keyId, accountId } = await gateway.newKey({ plan: 'ENTERPRISE' });
    const customerId = `c-live-${randomUUID().slice(0, 8)}`;
    const feed = await liveFeed(key, customerId, 'Revoked');
    await publish(customerId, 0);
    await waitFor('the first event', async () => feed.received.length === 1, 10_000, 20);

    await gateway.services.keys.revoke(keyId, SYSTEM);
    await publish(customerId, 1);
    await waitFor('the feed to end', async () => feed.completed, 10_000, 20);
    expect(feed.received).toEqual([100]);
    expect(feed.errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(await gateway.services.db.prisma.usageRecord.count({ where: { accountId } })).toBe(1);
  });
});
