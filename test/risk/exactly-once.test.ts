import { decodeTransaction } from '../../src/risk/contract';
import { decodeLatest, latestKey, rankingKey } from '../../src/risk/view';
import { waitFor } from '../support/process';
import {
  aheadOfCheckpoint,
  checkpointTotal,
  consumerProcess,
  endOffsetTotal,
  readTopic,
  referenceRun,
  riskEnv,
  storedScores,
  storedStates,
  waitUntilConsumed,
  type KafkaRecord,
  type RiskEnv,
  traffic,
} from './support';

/** Each customer's newest scored event (newest event time; on a tie the later one, as the sinks keep it). */
function referenceLatest(records: KafkaRecord[]): Map<string, string> {
  const scored = referenceRun(records).scores;
  const newest = new Map<string, { eventId: string; time: number }>();
  for (const { key, value } of records) {
    const decoded = decodeTransaction(value, key, 4096);
    if (!decoded.ok || !scored.has(decoded.tx.eventId)) continue;
    const known = newest.get(decoded.tx.customerId);
    if (!known || decoded.tx.time >= known.time) newest.set(decoded.tx.customerId, { eventId: decoded.tx.eventId, time: decoded.tx.time });
  }
  return new Map([...newest].map(([customer, { eventId }]) => [customer, eventId]));
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner) =>
    inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : 1))) : inner,
  );
}

const sameEntries = (stored: Map<string, unknown>, expected: Map<string, unknown>) => {
  const mismatches = [...expected].filter(([id, value]) => canonical(stored.get(id)) !== canonical(value)).map(([id]) => id);
  return { size: stored.size, mismatches: mismatches.length, first: mismatches.slice(0, 3) };
};

/**
 * Exactly once in effect, with states checkpointed every so often and idempotent sinks: the
 * consumer is killed (SIGKILL) five times at different points of its cycle while the stream
 * arrives; the end result equals a run without crashes.
 */
describe('five SIGKILLs during one run (real Kafka, Redis, Postgres)', () => {
  let env: RiskEnv;
  const records = traffic(24_000, 21, 600);
  const reference = referenceRun(records);

  beforeAll(async () => {
    env = await riskEnv({ TRANSACTIONS_PARTITIONS: '4', RISK_CHECKPOINT_INTERVAL_MS: '1500' });
  });
  afterAll(async () => env?.close());

  const historyCount = async () => (await env.services.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM risk_scores`))[0].n;

  it('ends with the states, history, latest scores and risk-scores topic of a run without crashes', async () => {
    // Where each kill landed: what the sinks held beyond the checkpoints, the checkpoint total, the history rows.
    const kills: Array<{ point: string; ahead: number; checkpoint: number; history: number }> = [];
    let producing = true;
    const production = (async () => {
      const slices = 48;
      const size = Math.ceil(records.length / slices);
      for (let i = 0; i < slices; i++) {
        // The last slice waits for the fifth kill: every kill happens while the stream still arrives.
        if (i === slices - 1) await waitFor('the five kills', async () => kills.length === 5, 120_000, 50);
        await env.produce(records.slice(i * size, (i + 1) * size));
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      producing = false;
    })();

    const killAt = async (point: string, when: () => Promise<boolean>) => {
      const consumer = await consumerProcess(env.env);
      await waitFor(`kill point "${point}"`, when, 30_000, 5).catch(() => undefined);
      expect(await consumer.kill('SIGKILL')).toBe('SIGKILL');
      // Measured once the process is dead, so nothing moves between the kill and the figures.
      kills.push({ point, ahead: await aheadOfCheckpoint(env), checkpoint: await checkpointTotal(env.services, env.groupId), history: await historyCount() });
    };

    // 1. After its first sinks, before its first checkpoint.
    await killAt('after a sink, before the first checkpoint', async () => (await historyCount()) > 0);
    // 2. Just after a checkpoint moved.
    const before = await checkpointTotal(env.services, env.groupId);
    await killAt('just after a checkpoint', async () => (await checkpointTotal(env.services, env.groupId)) > before);
    // 3. While scoring again what the last crash left past the checkpoint (mid-sink).
    const history3 = await historyCount();
    await killAt('mid-sink, re-scoring after a crash', async () => (await historyCount()) > history3 + 50);
    // 4. After a sink and before the checkpoint that would cover it.
    await killAt('after a sink, before its checkpoint', async () => (await aheadOfCheckpoint(env)) > 200);
    // 5. Soon after starting, whatever it is doing.
    await killAt('soon after a restart', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return true;
    });

    expect(kills).toHaveLength(5);
    expect(producing).toBe(true); // every kill happened while the stream was still arriving
    // At least one kill left sinks ahead of the checkpoint: the case idempotent sinks exist for.
    expect(Math.max(...kills.map((kill) => kill.ahead))).toBeGreaterThan(0);

    await production;
    const last = await consumerProcess(env.env);
    try {
      await waitUntilConsumed(env, 120_000);
    } finally {
      expect(await last.kill('SIGTERM')).toBe(0);
    }

    // History: every score once (event id is the key), each as the reference computes it.
    expect(sameEntries(await storedScores(env.services), reference.scores)).toEqual({ size: reference.scores.size, mismatches: 0, first: [] });
    // States, as checkpointed.
    expect(sameEntries(await storedStates(env.services, env.groupId), reference.states)).toEqual({ size: reference.states.size, mismatches: 0, first: [] });
    // Latest scores in Redis: each customer's newest event, ranked by its score.
    const latest = referenceLatest(records);
    const customers = [...latest.keys()];
    const cached = await env.services.redis!.mget(customers.map((customer) => latestKey(env.config.REDIS_KEY_PREFIX, customer)));
    expect(customers.filter((customer, i) => !cached[i] || decodeLatest(cached[i]!).eventId !== latest.get(customer))).toEqual([]);
    const ranking = await env.services.redis!.zrange(rankingKey(env.config.REDIS_KEY_PREFIX), '0', '-1', 'WITHSCORES');
    const ranked = new Map<string, number>();
    for (let i = 0; i < ranking.length; i += 2) ranked.set(ranking[i], Number(ranking[i + 1]));
    expect(ranked).toEqual(new Map(customers.map((customer) => [customer, reference.scores.get(latest.get(customer)!)!.score])));
    // The risk-scores topic, de-duplicated by event id as its readers do: every score, as computed.
    const published = await readTopic(env.kafka, env.topics.scores, await endOffsetTotal(env.kafka, env.topics.scores), 60_000);
    const byEvent = new Map(
      published.map((record) => {
        const view = JSON.parse(record.value!.toString()) as { eventId: string; score: number; band: string; factors: unknown };
        return [view.eventId, { score: view.score, band: view.band, factors: view.factors }];
      }),
    );
    expect(sameEntries(byEvent, reference.scores)).toEqual({ size: reference.scores.size, mismatches: 0, first: [] });
  }, 360_000); // its own waits: up to 120 s for the five kills and 120 s for the last consumer to catch up
});
