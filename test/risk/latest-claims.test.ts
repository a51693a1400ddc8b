import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Database } from '../../src/db/client';
import { TransactionFeed } from '../../src/feed/generator';
import { riskMetrics } from '../../src/risk/pipeline/metrics';
import { riskOutputs } from '../../src/risk/pipeline/outputs';
import { RiskPipeline, type RawMessage } from '../../src/risk/pipeline/processor';
import { decodeLatest, latestKey, rankingKey } from '../../src/risk/view';
import { serviceUrl, useMigratedDatabase } from '../support/throwaway-database';

/**
 * The latest scores (what `riskScore` and `topRisks` read) are written under a claim on their
 * partition: a consumer that takes a partition over refuses the writes of the one it took it from,
 * and does not write again what was written before its checkpoint's events came back to it.
 */
describe('latest scores under partition claims (real Postgres and Redis)', () => {
  const scratch = useMigratedDatabase();
  let db: Database;
  let redis: Redis;
  const topic = 'transactions';
  beforeAll(() => {
    db = scratch();
    redis = new Redis(serviceUrl('REDIS_URL'));
  });
  afterAll(() => redis.quit());

  const pipeline = (groupId: string, prefix: string) =>
    new RiskPipeline({
      sql: db.sql,
      outputs: riskOutputs({ logger: pino({ level: 'silent' }), redis, redisKeyPrefix: prefix }),
      metrics: riskMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
      groupId,
      owner: groupId,
      maxEventBytes: 65_536,
      mode: 'live',
      provenance: true,
      // No checkpoint within the test: a new owner starts from the partition's first offset.
      checkpointIntervalMs: 60_000,
      checkpointEvents: 100_000,
      checkpointLatest: false,
      sinkLingerMs: 20,
    });

  // 40 customers over 4 batches: most have a score in several batches, often out of event-time order.
  const feed = new TransactionFeed({ seed: 11, customers: 40, rate: 1_000, start: Date.parse('2026-11-24T10:00:00Z'), invalid: 0, duplicates: 0 });
  const batches: RawMessage[][] = Array.from({ length: 4 }, (_, b) =>
    Array.from({ length: 100 }, (_, i) => {
      const { key, value } = feed.next();
      return { offset: String(b * 100 + i), key, value };
    }),
  );
  const customers = [...new Set(batches.flat().map((message) => String(message.key)))];

  /** Every customer's latest-score value and the ranking, as Redis holds them. */
  const stored = async (prefix: string) => ({
    latest: await redis.mget(customers.map((id) => latestKey(prefix, id))),
    ranking: await redis.zrangebyscore(rankingKey(prefix), '-inf', '+inf', 'WITHSCORES'),
  });
  /** The same without the moment each score was computed (which differs between runs). */
  const scores = async (prefix: string) => {
    const { latest, ranking } = await stored(prefix);
    return { latest: latest.map((value) => (value ? { ...decodeLatest(value), computedAt: undefined } : null)), ranking };
  };

  it('a consumer back at its checkpoint never puts an older score back; the one it took over from writes nothing more', async () => {
    const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    const first = pipeline('g-claims', prefix);
    expect(await first.load(topic, 0)).toBe(0);
    for (const batch of batches.slice(0, 2)) expect((await first.processBatch(topic, 0, batch, 0)).kind).toBe('done');
    const afterTwo = await stored(prefix);
    expect(afterTwo.latest.filter(Boolean).length).toBeGreaterThan(30);

    // A second consumer takes the partition over (after a rebalance or a crash) from its last checkpoint: offset 0.
    const second = pipeline('g-claims', prefix);
    expect(await second.load(topic, 0)).toBe(0);
    expect((await second.processBatch(topic, 0, batches[0], 0)).kind).toBe('done');
    // Batch 0 again: its scores are older than what batch 1 wrote for the same customers. Nothing moved.
    expect(await stored(prefix)).toEqual(afterTwo);

    // The consumer it took the partition from is fenced: its next batch writes no latest score.
    expect(await first.processBatch(topic, 0, batches[2], 0)).toEqual({ kind: 'fenced', offset: 0 });
    expect(await stored(prefix)).toEqual(afterTwo);

    for (const batch of batches.slice(1)) expect((await second.processBatch(topic, 0, batch, 0)).kind).toBe('done');
    await second.checkpointIdle(true);

    // The same as one consumer that read the partition once.
    const referencePrefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    const reference = pipeline('g-claims-reference', referencePrefix);
    await reference.load(topic, 0);
    for (const batch of batches) expect((await reference.processBatch(topic, 0, batch, 0)).kind).toBe('done');
    await reference.checkpointIdle(true);
    expect(await scores(prefix)).toEqual(await scores(referencePrefix));
  });
});
