import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';
import { riskOutputs } from '../../src/risk/pipeline/outputs';
import { encodeViews, SCORES_CHANNEL, type RiskScoreView } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';

/** What each plan may read is data (plan grants); a field outside the plan is FORBIDDEN, the rest still resolves. */
describe('risk entitlements by plan', () => {
  let gateway: TestGateway;
  const customerId = `c-ent-${randomUUID().slice(0, 8)}`;
  const QUERY = `query($c: ID!) { riskScore(customerId: $c) { customerId band score factors { code contribution } } }`;

  beforeAll(async () => {
    gateway = await startTestGateway();
    // Where the pipeline puts a customer's latest score: Redis, through the pipeline's own outputs.
    const now = new Date().toISOString();
    const { services } = gateway;
    const outputs = riskOutputs({ logger: services.logger, redis: services.redis, redisKeyPrefix: services.config.REDIS_KEY_PREFIX });
    const claim = await outputs.claimLatest('entitlements', 'transactions', 0);
    await outputs.writeLatest(
      [
        {
          customerId,
          eventId: randomUUID(),
          score: 612,
          band: 'HIGH',
          factors: [{ code: 'NEW_DEVICE', contribution: 612, detail: 'first time seen' }],
          modelVersion: 'test',
          eventTime: now,
          computedAt: now,
        },
      ],
      claim,
      1,
    );
  });
  afterAll(() => gateway?.stop());

  it('gives FREE the band and FORBIDDEN for score and factors, naming PROFESSIONAL', async () => {
    const { key } = await gateway.newKey({ plan: 'FREE' });
    const { status, body } = await gateway.query(QUERY, { key, variables: { c: customerId } });
    expect(status).toBe(200);
    expect(body.data.riskScore).toEqual({ customerId, band: 'HIGH', score: null, factors: null });
    expect(body.errors?.map((error) => [error.path.join('.'), error.extensions.code, error.extensions.upgradeTo])).toEqual(
      expect.arrayContaining([
        ['riskScore.score', 'FORBIDDEN', 'PROFESSIONAL'],
        ['riskScore.factors', 'FORBIDDEN', 'PROFESSIONAL'],
      ]),
    );
    expect(body.errors?.[0].message).toMatch(/Your plan \(FREE\) does not include this field; it is part of PROFESSIONAL\./);
    const history = await gateway.query(`query($c: ID!) { riskHistory(customerId: $c, first: 5) { nodes { band } } }`, { key, variables: { c: customerId } });
    expect(history.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', upgradeTo: 'PROFESSIONAL' });
  });

  it('gives PROFESSIONAL the score and its factors', async () => {
    const { key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const { body } = await gateway.query(QUERY, { key, variables: { c: customerId } });
    expect(body.errors).toBeUndefined();
    expect(body.data.riskScore).toEqual({ customerId, band: 'HIGH', score: 612, factors: [{ code: 'NEW_DEVICE', contribution: 612 }] });
  });

  it('follows the plan data: granting risk.score to FREE opens the field without a restart', async () => {
    const { key } = await gateway.newKey({ plan: 'FREE' });
    const grants = (await gateway.services.plans.get('FREE')).grants;
    await gateway.services.plans.update('FREE', { grants: [...grants, 'risk.score'] as never }, { type: 'system:test' });
    try {
      const { body } = await gateway.query(QUERY, { key, variables: { c: customerId } });
      expect(body.data.riskScore.score).toBe(612);
      expect(body.errors?.map((error) => error.path.join('.'))).toEqual(['riskScore.factors']);
    } finally {
      await gateway.services.plans.update('FREE', { grants: grants as never }, { type: 'system:test' });
    }
  });
});

describe('live updates by plan', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway?.stop());

  type Outcome = { errors: Array<{ message: string; extensions?: Record<string, unknown> }> } | 'delivered' | 'completed' | 'silent';
  const score = (): RiskScoreView => ({
    customerId: 'c-entitlements',
    eventId: randomUUID(),
    score: 100,
    band: 'LOW',
    factors: [],
    eventTime: new Date().toISOString(),
    computedAt: new Date().toISOString(),
    modelVersion: 'test',
  });
  /** Subscribes with `key` while scores are published: delivered (a score arrived), refused (errors), or neither. */
  const subscribe = (key: string) =>
    new Promise<Outcome>((resolve) => {
      const client = createClient({
        url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key}` },
        retryAttempts: 0,
      });
      let settled = false;
      const pump = setInterval(() => void gateway.services.pubsub.publish(SCORES_CHANNEL, encodeViews([score()])), 100);
      const timer = setTimeout(() => done('silent'), 10_000);
      const done = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearInterval(pump);
        clearTimeout(timer);
        void client.dispose();
        resolve(outcome);
      };
      // A refused subscription arrives as one result with errors (graphql-ws), then completes.
      client.subscribe(
        { query: 'subscription { riskScoreUpdated { band } }' },
        {
          next: (result) => done(result.errors ? { errors: result.errors as never } : result.data ? 'delivered' : 'completed'),
          error: (error) => done({ errors: [{ message: String(error) }] }),
          complete: () => done('completed'),
        },
      );
    });

  it('refuses the riskScoreUpdated subscription to FREE, naming PROFESSIONAL, and accepts it for PROFESSIONAL', async () => {
    const free = await subscribe((await gateway.newKey({ plan: 'FREE' })).key);
    expect(typeof free).toBe('object');
    expect((free as { errors: Array<{ extensions?: Record<string, unknown> }> }).errors[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      upgradeTo: 'PROFESSIONAL',
    });
    expect(await subscribe((await gateway.newKey({ plan: 'PROFESSIONAL' })).key)).toBe('delivered');
  });
});
