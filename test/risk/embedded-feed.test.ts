import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { metricValue } from './support';
import { tempDir } from '../support/temp-dirs';

/** `npm start` with nothing configured: the synthetic feed runs through the pipeline in-process. */
describe('embedded start: live scores without Kafka or Redis', () => {
  const dataDir = tempDir('tg-embedded-risk-');
  let gateway: RunningProcess;
  let key: string;

  beforeAll(async () => {
    gateway = await startGatewayProcess({ DATA_DIR: dataDir, FEED_RATE: '200', FEED_CUSTOMERS: '50', RISK_QUALITY_INTERVAL_MS: '1000' });
    key = (JSON.parse(readFileSync(join(dataDir, 'demo-keys.json'), 'utf8')) as { subscriberKey: string }).subscriberKey;
  });

  afterAll(async () => {
    expect(await gateway?.stop()).toBe(0);
  });

  const query = (text: string, variables?: Record<string, unknown>) => graphql(gateway.url, text, { headers: { authorization: `Bearer ${key}` }, variables });

  it('serves scores of the in-process feed at once, over queries and a subscription', async () => {
    let top: Array<{ customerId: string; score: number; eventTime: string }> = [];
    await waitFor(
      'scores to appear',
      async () => {
        top = (await query('{ topRisks(minBand: LOW, first: 5) { customerId score band eventTime freshnessSeconds } }')).body.data?.topRisks ?? [];
        return top.length > 0;
      },
      20_000,
      100,
    );
    const one = await query('query($id: ID!) { riskScore(customerId: $id) { customerId score band eventTime factors { code } } }', { id: top[0].customerId });
    expect(one.body.data.riskScore).toMatchObject({ customerId: top[0].customerId, band: expect.stringMatching(/LOW|MEDIUM|HIGH|CRITICAL/) });
    // Event times are live: the feed stamps events with the wall clock.
    expect(Date.now() - Date.parse(one.body.data.riskScore.eventTime)).toBeLessThan(60_000);

    const client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-api-key': key },
      retryAttempts: 0,
    });
    try {
      const update = await new Promise<{ customerId: string; score: number }>((resolve, reject) => {
        client.subscribe(
          { query: 'subscription { riskScoreUpdated { customerId score } }' },
          { next: (result) => resolve(result.data!.riskScoreUpdated as never), error: reject, complete: () => undefined },
        );
      });
      expect(update).toEqual({ customerId: expect.stringMatching(/^c-\d+$/), score: expect.any(Number) });
    } finally {
      await client.dispose();
    }

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metricValue(metrics, 'tollgraph_risk_events_total', 'outcome="scored"')).toBeGreaterThan(0);
    // The pipeline reports the data product's quality.
    await waitFor(
      'quality figures',
      async () => {
        const product = await query('{ dataProduct(id: "customer-risk-scores") { quality { eventsPerSecond completeness measuredAt } } }');
        return (product.body.data?.dataProduct?.quality?.eventsPerSecond ?? 0) > 0;
      },
      10_000,
      200,
    );
  });
});
