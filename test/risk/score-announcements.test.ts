import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { riskOutputs } from '../../src/risk/pipeline/outputs';
import type { RiskScoreView } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';
import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';

/**
 * The pipeline's announcement (`afterCommit` of its outputs) made in this process reaches a
 * `riskScoreUpdated` subscriber of another gateway process (a child running the built gateway)
 * on the same Redis. (test/risk/graphql.test.ts covers the other direction end to end: a
 * consumer child's scores to this process's subscribers.)
 */
describe('riskScoreUpdated across processes: announced here, delivered by another gateway', () => {
  let here: TestGateway;
  let other: RunningProcess;
  let client: Client | undefined;

  beforeAll(async () => {
    here = await startTestGateway();
    other = await startGatewayProcess({ ...here.env, LOG_LEVEL: 'warn' });
  });

  afterAll(async () => {
    await client?.dispose();
    await other?.stop();
    await here?.stop();
  });

  it('delivers the announced score, with every field, to a subscriber on the other process', async () => {
    const { key } = await here.newKey({ plan: 'ENTERPRISE' });
    client = createClient({
      url: `${other.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });
    const received: any[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      {
        query:
          'subscription { riskScoreUpdated(customerIds: ["c-announce"]) { customerId eventId score band factors { code contribution detail } eventTime computedAt modelVersion } }',
      },
      {
        next: (result) => (result.errors ? errors.push(...result.errors) : received.push(result.data!.riskScoreUpdated)),
        error: (error) => errors.push(error),
        complete: () => undefined,
      },
    );

    const outputs = riskOutputs({ logger: here.services.logger, pubsub: here.services.pubsub });
    const published = new Map<string, RiskScoreView>();
    const score = (n: number): RiskScoreView => ({
      customerId: 'c-announce',
      eventId: `evt-announce-${n}`,
      score: 610 + n,
      band: 'HIGH',
      factors: [{ code: 'NEW_COUNTRY', contribution: 100, detail: 'first transaction from BR' }],
      eventTime: new Date(Date.UTC(2026, 10, 24, 11, 0, n)).toISOString(),
      computedAt: new Date(Date.UTC(2026, 10, 24, 11, 1, n)).toISOString(),
      modelVersion: 'risk-v1',
    });
    // The subscriber's readiness on the other process is not visible from here: announce (a new
    // score each time, plus one for another customer the filter must drop) until one arrives.
    let n = 0;
    await waitFor(
      'a score announced here to reach the subscriber on the other process',
      async () => {
        const view = score(n++);
        published.set(view.eventId, view);
        await outputs.afterCommit([view, { ...view, customerId: 'c-someone-else', eventId: `${view.eventId}-other` }]);
        return received.length > 0;
      },
      20_000,
      100,
    );

    expect(errors).toEqual([]);
    expect(received.length).toBeGreaterThan(0);
    for (const got of received) {
      const sent = published.get(got.eventId);
      expect(sent).toBeDefined();
      expect(got).toEqual(sent);
    }
    expect(received.filter((got) => got.customerId !== 'c-announce')).toEqual([]);
  });
});
