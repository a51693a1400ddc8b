import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { productOf } from '../../src/catalog/product-fields';
import { loadConfig } from '../../src/config/load';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { observe, overWebSocket } from '../support/access-probe';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';
import { exampleEventId, isolatedSettings, record, testTopics, type TestTopics } from './support';
import { operatorProcess } from './operator-support';

const SPEND = 'customerId asOf windows { window count sumEur avgEur distinctMerchants }';
const MERCHANT = 'merchantId asOf windows { window transactions volumeEur highRisk declines disputes highRiskShare declineShare disputeShare }';

/** Three purchases of c-77 at m-9 (two within a minute), and one of c-78 elsewhere. */
const event = (n: number, customerId: string, merchantId: string, amount: string, time: string) => ({
  eventId: exampleEventId(700 + n),
  customerId,
  merchantId,
  mcc: '5411',
  amount,
  currency: 'EUR',
  country: 'DE',
  channel: 'CARD_PRESENT' as const,
  deviceId: `t-${merchantId}`,
  timestamp: `2026-11-24T${time}.000Z`,
});
const EVENTS = [
  event(1, 'c-77', 'm-9', '10.00', '09:00:00'),
  event(2, 'c-77', 'm-9', '20.50', '09:59:30'),
  event(3, 'c-77', 'm-9', '30.25', '10:00:00'),
  event(4, 'c-78', 'm-10', '5.00', '10:00:00'),
];

describe('merchant-risk and customer-spend-features over GraphQL, live from operator processes', () => {
  let gateway: TestGateway;
  let topics: TestTopics;
  let operators: Array<Awaited<ReturnType<typeof operatorProcess>>> = [];
  let key: string;
  let freeKey: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway(isolatedSettings());
    topics = await testTopics(loadConfig(gateway.env));
    key = (await gateway.newKey({ plan: 'ENTERPRISE' })).key;
    freeKey = (await gateway.newKey({ plan: 'FREE' })).key;
    operators = await Promise.all([operatorProcess(gateway.env, 'customer-spend-features'), operatorProcess(gateway.env, 'merchant-risk')]);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    for (const operator of operators) await operator.kill('SIGTERM');
    await topics?.close();
    await gateway?.stop();
  });

  const subscribe = (bearer: string, query: string, field: string) => {
    const client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bearer}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
    });
    clients.push(client);
    const received: any[] = [];
    const errors: any[] = [];
    client.subscribe(
      { query },
      {
        next: (result) => (result.errors ? errors.push(...result.errors) : received.push(result.data![field])),
        error: (error) => errors.push(error),
        complete: () => undefined,
      },
    );
    return { received, errors };
  };

  it('ties each root field to its data product (what per-product access and usage read)', async () => {
    const schema = await buildGatewaySchema();
    const products = (type: 'getQueryType' | 'getSubscriptionType', names: string[]) => names.map((name) => productOf(schema[type]()!.getFields()[name]));
    expect(products('getQueryType', ['customerSpendFeatures', 'merchantRisk'])).toEqual(['customer-spend-features', 'merchant-risk']);
    expect(products('getSubscriptionType', ['customerSpendFeaturesUpdated', 'merchantRiskUpdated'])).toEqual(['customer-spend-features', 'merchant-risk']);
  });

  it('delivers updates live and answers the queries with the figures of the events', async () => {
    const features = subscribe(key, `subscription { customerSpendFeaturesUpdated(customerIds: ["c-77"]) { ${SPEND} } }`, 'customerSpendFeaturesUpdated');
    const merchants = subscribe(key, `subscription { merchantRiskUpdated(merchantIds: ["m-9"]) { ${MERCHANT} } }`, 'merchantRiskUpdated');
    const views = gateway.services.risk.products;
    await waitFor(
      'both subscriptions to listen',
      async () => views.subscribers('customer-spend-features') === 1 && views.subscribers('merchant-risk') === 1,
      30_000,
      20,
    );

    await topics.produce(EVENTS.map(record));
    const hasAll = (received: any[], count: (view: any) => number) => received.some((view) => count(view) === 3);
    await waitFor(
      'c-77 and m-9 with their three transactions, live',
      async () => hasAll(features.received, (view) => view.windows[2].count) && hasAll(merchants.received, (view) => view.windows[1].transactions),
      90_000,
      50,
    ).catch((error) => {
      throw new Error(`${error.message}: ${JSON.stringify({ features, merchants })}`);
    });
    expect(features.errors).toEqual([]);
    expect(merchants.errors).toEqual([]);
    // Filtered: only the keys asked for.
    expect(new Set(features.received.map((view) => view.customerId))).toEqual(new Set(['c-77']));
    expect(new Set(merchants.received.map((view) => view.merchantId))).toEqual(new Set(['m-9']));

    const spend = await gateway.query(`{ customerSpendFeatures(customerIds: ["c-77", "c-nobody"]) { ${SPEND} } }`, { key });
    expect(spend.body.errors).toBeUndefined();
    expect(spend.body.data.customerSpendFeatures).toEqual([
      {
        customerId: 'c-77',
        asOf: '2026-11-24T10:00:00.000Z',
        windows: [
          // (09:59:00, 10:00:00]: the last two; (09:00, 10:00]: the same two (09:00:00 itself is out); a day: all three.
          { window: '1m', count: 2, sumEur: 50.75, avgEur: 25.38, distinctMerchants: 1 },
          { window: '1h', count: 2, sumEur: 50.75, avgEur: 25.38, distinctMerchants: 1 },
          { window: '24h', count: 3, sumEur: 60.75, avgEur: 20.25, distinctMerchants: 1 },
        ],
      },
      null,
    ]);
    const merchant = await gateway.query(`{ merchantRisk(merchantIds: ["m-9"]) { ${MERCHANT} } }`, { key });
    expect(merchant.body.errors).toBeUndefined();
    const [m9] = merchant.body.data.merchantRisk;
    expect(m9).toMatchObject({ merchantId: 'm-9', asOf: '2026-11-24T10:00:00.000Z' });
    expect(m9.windows.map((w: any) => [w.window, w.transactions, w.volumeEur])).toEqual([
      ['1h', 2, 50.75],
      ['24h', 3, 60.75],
    ]);
  }, 180_000);

  it('refuses both live feeds to a FREE key', async () => {
    const outcome = (bearer: string, query: string) => observe(() => overWebSocket({ url: gateway.url, key: bearer, query, variables: {} }));
    for (const query of [`subscription { merchantRiskUpdated { ${MERCHANT} } }`, `subscription { customerSpendFeaturesUpdated { ${SPEND} } }`]) {
      // The plan's live grant, or the product's access policy (whichever the gateway checks first): both refuse.
      expect(['FORBIDDEN', 'GRANT_FORBIDDEN']).toContain(await outcome(freeKey, query));
    }
  }, 60_000);
});
