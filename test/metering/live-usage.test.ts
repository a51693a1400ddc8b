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

  it('charges each delivered event to the daily quota and the ledger, and ends the feed with QUOTA_EXCEEDED when it is spent', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    await gateway.services.accounts.setOverrides(accountId, { dailyQuota: 3 }, SYSTEM);
    const customerId = `c-live-${randomUUID().slice(0, 8)}`;
    const client = createClient({ url: `${gateway.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
    clients.push(client);
    const received: number[] = [];
    const errors: Array<{ extensions?: Record<string, unknown> }> = [];
    let completed = false;
    const before = gateway.services.risk.subscribers;
    client.subscribe(
      { query: 'subscription Live($ids: [ID!]) { riskScoreUpdated(customerIds: $ids) { customerId score } }', variables: { ids: [customerId] } },
      {
        next: (result) => (result.errors ? errors.push(...(result.errors as never[])) : received.push((result.data as { riskScoreUpdated: { score: number } }).riskScoreUpdated.score)),
        error: (error) => errors.push({ extensions: { transport: String(error) } }),
        complete: () => (completed = true),
      },
    );
    await waitFor('the subscription to listen', async () => gateway.services.risk.subscribers > before, 10_000, 20);

    await gateway.services.pubsub.publish(SCORES_CHANNEL, encodeViews([0, 1, 2, 3, 4].map((i) => view(customerId, i))));
    await waitFor('the feed to end', async () => completed, 10_000, 20);

    expect(received).toEqual([100, 101, 102]);
    expect(errors).toHaveLength(1);
    expect(errors[0].extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 3 });
    expect(errors[0].extensions).not.toHaveProperty('http');
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
});
