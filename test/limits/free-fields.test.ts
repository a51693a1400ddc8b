import { UsageService } from '../../src/metering/usage';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';

/** Twenty aliases of a free field: the most root fields one request may select. */
const TWENTY_FREE = `{ ${Array.from({ length: 20 }, (_, i) => `m${i}: me { key { id } }`).join(' ')} }`;

describe('fields that cost no units are bounded per account (FREE_FIELDS_PER_SECOND)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ FREE_FIELDS_PER_SECOND: '20' });
  });
  afterAll(() => gateway?.stop());

  it("refuses an account's free fields past the allowance with 429 and Retry-After, and no other account's", async () => {
    const greedy = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const other = await gateway.newKey({ plan: 'PROFESSIONAL' });
    // Two requests at once, twenty free fields each, on an allowance of twenty a second: one is
    // served, one refused (asked again should a second end between the two on a stalled machine).
    let answers: Array<Awaited<ReturnType<TestGateway['query']>>> = [];
    await waitFor(
      'a pair of requests within one second',
      async () => {
        answers = await Promise.all([gateway.query(TWENTY_FREE, { key: greedy.key }), gateway.query(TWENTY_FREE, { key: greedy.key })]);
        return answers.some((answer) => answer.status === 429);
      },
      10_000,
      1_100,
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 429]);
    const refused = answers.find((answer) => answer.status === 429)!;
    expect(refused.body.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', freeFieldsPerSecond: 20 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await gateway.query(TWENTY_FREE, { key: other.key })).status).toBe(200);
    // Fields that cost units are limited by the burst and the day, not by this allowance.
    const paid = await gateway.query('{ riskScore(customerId: "c-free-fields") { score } }', { key: greedy.key });
    expect(paid.body.errors).toBeUndefined();
    // The allowance comes back when the second that refused it ends (a stalled CI machine may take
    // several seconds to answer the probes, so the wait is generous).
    await waitFor('the next second', async () => (await gateway.query(TWENTY_FREE, { key: greedy.key })).status === 200, 20_000, 250);
  });

  it("runs one rollup catch-up for an account's concurrent usage reads (twenty aliases of usage do one)", async () => {
    const { accountId } = await gateway.newKey({ plan: 'FREE' });
    let catchUps = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const usage = new UsageService(gateway.services.db.prisma, async () => {
      catchUps++;
      await gate;
    });
    const from = new Date(Date.now() - 3_600_000);
    const reads = Array.from({ length: 20 }, () => usage.usageOf(accountId, from, new Date(), 'HOUR'));
    await new Promise((resolve) => setImmediate(resolve));
    open();
    await Promise.all(reads);
    expect(catchUps).toBe(1);
    // Once it is done, the next read catches up again (it must see what was recorded since).
    await usage.usageOf(accountId, from, new Date(), 'HOUR');
    expect(catchUps).toBe(2);
  });
});
