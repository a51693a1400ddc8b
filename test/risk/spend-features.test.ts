import { waitFor } from '../support/process';
import { checkpointTotal, endOffsetTotal, riskEnv, type RiskEnv, traffic } from './support';
import {
  dlqBySource,
  differences,
  distinctEvents,
  groupsOf,
  operatorProcess,
  refusedCount,
  storedViews,
  trickle,
  viewsAhead,
  waitUntilGroupConsumed,
} from './operator-support';

const WINDOWS: Array<[string, number]> = [
  ['1m', 60_000],
  ['1h', 3_600_000],
  ['24h', 86_400_000],
];

/**
 * The batch recomputation, written apart from the operator: every distinct event of a customer,
 * the customer's newest event time, and for each window the events after it minus the window
 * (amounts in whole EUR cents, as the product defines them).
 */
function oracle(records: ReturnType<typeof traffic>) {
  const byCustomer = new Map<string, Array<{ time: number; cents: number; merchant: string }>>();
  for (const tx of distinctEvents(records)) {
    const list = byCustomer.get(tx.customerId) ?? [];
    list.push({ time: tx.time, cents: Math.round(tx.amountEur * 100), merchant: tx.merchantId });
    byCustomer.set(tx.customerId, list);
  }
  const expected = new Map<string, unknown>();
  for (const [customerId, events] of byCustomer) {
    const asOf = Math.max(...events.map((event) => event.time));
    const windows = WINDOWS.map(([window, ms]) => {
      const inside = events.filter((event) => event.time > asOf - ms);
      const cents = inside.reduce((sum, event) => sum + event.cents, 0);
      return {
        window,
        count: inside.length,
        sumEur: cents / 100,
        avgEur: inside.length ? Math.round(cents / inside.length) / 100 : 0,
        distinctMerchants: new Set(inside.map((event) => event.merchant)).size,
      };
    });
    expected.set(customerId, { customerId, asOf: new Date(asOf).toISOString(), windows });
  }
  return expected;
}

describe('customer-spend-features operator (real Kafka, Redis, Postgres)', () => {
  let env: RiskEnv;
  const records = traffic(12_000, 31, 400);
  const expected = oracle(records);
  const customers = [...expected.keys()];

  beforeAll(async () => {
    env = await riskEnv({ TRANSACTIONS_PARTITIONS: '4', RISK_CHECKPOINT_INTERVAL_MS: '1500' });
  });
  afterAll(async () => env?.close());

  it('equals a batch recomputation after four SIGKILLs at chosen points, and sends malformed events to the DLQ', async () => {
    const group = groupsOf(env, 'customer-spend-features').main;
    const kills: Array<{ point: string; ahead: number; checkpoint: number }> = [];
    const killAt = async (point: string, when: () => Promise<boolean>) => {
      const operator = await operatorProcess(env.env, 'customer-spend-features');
      await waitFor(`kill point "${point}"`, when, 30_000, 5).catch(() => undefined);
      expect(await operator.kill('SIGKILL')).toBe('SIGKILL');
      kills.push({ point, ahead: await viewsAhead(env, 'customer-spend-features', customers), checkpoint: await checkpointTotal(env.services, group) });
    };
    const production = trickle(env, records, 40, 250, async (slice) => {
      // The last slice waits for the kills: every kill happens while the stream still arrives.
      if (slice === 39) await waitFor('the four kills', async () => kills.length === 4, 180_000, 50);
    });

    await killAt('after a sink, before the first checkpoint', async () => (await viewsAhead(env, 'customer-spend-features', customers)) > 0);
    const before = await checkpointTotal(env.services, group);
    await killAt('just after a checkpoint', async () => (await checkpointTotal(env.services, group)) > before);
    await killAt('after sinks, before their checkpoint', async () => (await viewsAhead(env, 'customer-spend-features', customers)) > 100);
    await killAt('soon after a restart', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return true;
    });
    // A kill left sinks ahead of the checkpoint: the case the versioned sinks exist for.
    expect(Math.max(...kills.map((kill) => kill.ahead))).toBeGreaterThan(0);

    await production;
    const last = await operatorProcess(env.env, 'customer-spend-features');
    try {
      await waitUntilGroupConsumed(env, group, env.topics.transactions, 120_000);
    } finally {
      expect(await last.kill('SIGTERM')).toBe(0);
    }

    const stored = await storedViews<Record<string, unknown>>(env, 'customer-spend-features', customers);
    const shown = new Map([...stored].map(([customer, { key: _key, version: _version, ...view }]) => [customer, view]));
    expect(differences(shown, expected)).toEqual({ expected: expected.size, stored: expected.size, wrong: 0, first: [] });

    // Every refused event is on the DLQ once by source position, with the contract's reason
    // (each record produced once: an idempotent producer).
    expect(await endOffsetTotal(env.kafka, env.topics.transactions)).toBe(records.length);
    const refused = refusedCount(records);
    const total = [...refused.values()].reduce((sum, n) => sum + n, 0);
    expect(total).toBeGreaterThan(0);
    const dlq = await dlqBySource(env);
    const reasons = new Map<string, number>();
    for (const { reason, sourceTopic } of dlq.values()) {
      expect(sourceTopic).toBe(env.topics.transactions);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    expect(reasons).toEqual(refused);

    // The last operator's figures went to the product's catalog entry when it stopped.
    const { quality } = await env.services.db.prisma.dataProduct.findUniqueOrThrow({ where: { slug: 'customer-spend-features' } });
    expect(quality).toMatchObject({ completeness: 1, eventsPerSecond: expect.any(Number), measuredAt: expect.any(String) });
    expect((quality as { eventsPerSecond: number }).eventsPerSecond).toBeGreaterThan(0);
  }, 420_000); // up to 180 s for the kills while producing, 120 s for the last catch-up, the DLQ read
});
