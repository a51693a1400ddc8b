import { randomUUID } from 'node:crypto';
import { startTestGateway, type TestGateway } from '../support/harness';

/** With Redis configured, a customer whose latest score Redis does not hold is read from the history's newest row. */
describe('latest score from the history when Redis lacks it', () => {
  let gateway: TestGateway;
  const customer = `c-hist-${randomUUID().slice(0, 8)}`;
  const newest = randomUUID();

  beforeAll(async () => {
    gateway = await startTestGateway();
    const row = (eventId: string, score: number, eventTime: string) => ({
      eventId,
      customerId: customer,
      score,
      band: score >= 500 ? ('HIGH' as const) : ('LOW' as const),
      factors: [],
      modelVersion: 'test',
      eventTime: new Date(eventTime),
      computedAt: new Date(eventTime),
    });
    // Only the history holds them (no pipeline ran): Redis has no key for this customer.
    await gateway.services.db.prisma.riskScore.createMany({
      data: [row(randomUUID(), 100, '2026-11-24T10:00:00Z'), row(newest, 610, '2026-11-24T11:00:00Z'), row(randomUUID(), 200, '2026-11-24T10:30:00Z')],
    });
  });
  afterAll(() => gateway?.stop());

  it('answers each customer with its newest history row, and null for one never scored, in the order asked', async () => {
    const { key } = await gateway.newKey({ plan: 'ENTERPRISE' });
    const unknown = `c-none-${randomUUID().slice(0, 8)}`;
    const { body } = await gateway.query(`query($ids: [ID!]!) { riskScores(customerIds: $ids) { customerId eventId score band } }`, {
      key,
      variables: { ids: [unknown, customer] },
    });
    expect(body.errors).toBeUndefined();
    expect(body.data.riskScores).toEqual([null, { customerId: customer, eventId: newest, score: 610, band: 'HIGH' }]);
  });
});
