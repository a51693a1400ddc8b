import { randomUUID } from 'node:crypto';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';

const SYSTEM = { type: 'system:test' } as const;
const SCORES = 'query Scores($ids: [ID!]!) { riskScores(customerIds: $ids) { customerId score } }';

/**
 * What a request costs and the most it may cost, through the gateway (HTTP, real Postgres and
 * Redis): `riskScores` is priced per id asked and billed per score returned; the most a query
 * may cost is the plan's maximum or its burst size, whichever is smaller. (The document limits
 * of 30 aliases and 20 root fields are checked over HTTP in test/limits/quota.test.ts.)
 */
describe('query cost through the gateway', () => {
  let gateway: TestGateway;
  /** Customers with a score in the history (no pipeline runs: Redis has none, the history answers). */
  const scored = Array.from({ length: 5 }, (_, i) => `c-cost-${randomUUID().slice(0, 8)}-${i}`);
  const unscored = (n: number) => Array.from({ length: n }, () => `c-none-${randomUUID().slice(0, 8)}`);

  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.services.db.prisma.riskScore.createMany({
      data: scored.map((customerId, i) => ({
        eventId: randomUUID(),
        customerId,
        score: 100 + i,
        band: 'LOW' as const,
        factors: [],
        modelVersion: 'test',
        eventTime: new Date('2026-11-24T10:00:00Z'),
        computedAt: new Date('2026-11-24T10:00:00Z'),
      })),
    });
  });
  afterAll(() => gateway?.stop());

  /** The usage records the ledger holds for one request (its id is the response's x-request-id). */
  const usageOf = async (requestId: string | null) => {
    expect(requestId).toEqual(expect.any(String));
    return gateway.services.db.sql.query<{ cost_units: number; operation: string }>(`SELECT cost_units, operation FROM usage_records WHERE request_id = $1`, [
      requestId,
    ]);
  };
  const costOf = (answer: { body: unknown }) => (answer.body as { extensions?: { cost?: unknown } }).extensions?.cost;
  const dailyRemaining = (headers: Headers) => Number(/"daily";r=(\d+);/.exec(headers.get('ratelimit') ?? '')?.[1]);

  it('prices riskScores at one unit per id asked, and bills one unit per score it returns', async () => {
    const { key } = await gateway.newKey({ plan: 'PROFESSIONAL' }); // 1,000,000 units a day

    const all = await gateway.query(SCORES, { key, variables: { ids: scored } });
    expect(all.status).toBe(200);
    expect(all.body.data!.riskScores.map((score: { customerId: string }) => score.customerId)).toEqual(scored);
    expect(costOf(all)).toMatchObject({ requestedQueryCost: 5, actualQueryCost: 5 });
    expect(await usageOf(all.headers.get('x-request-id'))).toEqual([{ cost_units: 5, operation: 'Scores' }]);
    expect(dailyRemaining(all.headers)).toBe(1_000_000 - 5);

    // Eight ids asked, five of them scored: eight units reserved, five billed, three refunded.
    const some = await gateway.query(SCORES, { key, variables: { ids: [...unscored(2), ...scored, ...unscored(1)] } });
    expect(some.status).toBe(200);
    expect(some.body.data!.riskScores.filter((score: unknown) => score !== null)).toHaveLength(5);
    expect(costOf(some)).toMatchObject({ requestedQueryCost: 8, actualQueryCost: 5 });
    expect(await usageOf(some.headers.get('x-request-id'))).toEqual([{ cost_units: 5, operation: 'Scores' }]);
    expect(dailyRemaining(some.headers)).toBe(1_000_000 - 10);

    // A literal list is priced the same way; nothing returned, nothing billed.
    const literal = await gateway.query(`{ riskScores(customerIds: ${JSON.stringify(unscored(3))}) { band } }`, { key });
    expect(literal.status).toBe(200);
    expect(literal.body.data!.riskScores).toEqual([null, null, null]);
    expect(costOf(literal)).toMatchObject({ requestedQueryCost: 3, actualQueryCost: 0 });
    expect(await usageOf(literal.headers.get('x-request-id'))).toEqual([]);
    expect(dailyRemaining(literal.headers)).toBe(1_000_000 - 10);
  });

  it("caps the most a query may cost at the plan's burst size, or its maximum query cost when that is smaller", async () => {
    const { accountId, key } = await gateway.newKey({ plan: 'PROFESSIONAL' }); // burst 500, maximum query cost 500
    const limitsAre = (burst: number) =>
      waitFor(
        `a burst of ${burst}`,
        async () => (await gateway.query('{ rateLimit { used } }', { key })).headers.get('ratelimit-policy')?.startsWith(`"burst";q=${burst};`) ?? false,
        5_000,
        20,
      );
    const ask = (n: number) => gateway.query(SCORES, { key, variables: { ids: unscored(n) } });

    for (const { burstPerSecond, maxQueryCost, cap } of [
      { burstPerSecond: 5, maxQueryCost: 50, cap: 5 },
      { burstPerSecond: 50, maxQueryCost: 5, cap: 5 },
    ]) {
      await gateway.services.accounts.setOverrides(accountId, { burstPerSecond, maxQueryCost }, SYSTEM);
      await limitsAre(burstPerSecond);
      const over = await ask(cap + 1);
      expect({ burstPerSecond, maxQueryCost, status: over.status, data: over.body.data }).toEqual({
        burstPerSecond,
        maxQueryCost,
        status: 400,
        data: undefined,
      });
      expect(over.body.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', requestedQueryCost: cap + 1, maxQueryCost: cap });
      const at = await ask(cap);
      expect({ burstPerSecond, maxQueryCost, status: at.status, errors: at.body.errors }).toEqual({
        burstPerSecond,
        maxQueryCost,
        status: 200,
        errors: undefined,
      });
      expect(costOf(at)).toMatchObject({ requestedQueryCost: cap, actualQueryCost: 0 });
    }
  });
});
