import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { TollgraphError } from '../../src/errors';
import type { PubSub } from '../../src/pubsub/pubsub';
import { LatestClaimLost, riskOutputs } from '../../src/risk/pipeline/outputs';
import { RiskService } from '../../src/risk/service';
import { rankingKey, type RiskScoreView } from '../../src/risk/view';
import { serviceUrl } from '../support/throwaway-database';

/** topRisks from the Redis ranking the pipeline's outputs keep beside the latest scores, under partition claims (real Redis). */
describe('risk ranking in Redis', () => {
  const logger = pino({ level: 'silent' });
  let redis: Redis;
  let prefix: string;
  let service: RiskService;
  // Neither is touched while Redis answers: the ranking and the latest scores are both in Redis.
  const unused = undefined as never as PubSub;

  const view = (customerId: string, score: number, eventTime: string): RiskScoreView => ({
    customerId,
    eventId: `${customerId}-${eventTime}`,
    score,
    band: score >= 700 ? 'CRITICAL' : score >= 400 ? 'HIGH' : score >= 200 ? 'MEDIUM' : 'LOW',
    factors: [],
    eventTime,
    computedAt: eventTime,
    modelVersion: 'test',
  });

  beforeAll(() => {
    redis = new Redis(serviceUrl('REDIS_URL'));
  });
  beforeEach(() => {
    prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    service = new RiskService({ prisma: undefined as never, redis, redisKeyPrefix: prefix, pubsub: unused, logger });
  });
  afterAll(() => redis.quit());

  /** Writes as one partition's consumer does, batch after batch, under its claim. */
  const writer = async () => {
    const outputs = riskOutputs({ logger, redis, redisKeyPrefix: prefix });
    const claim = await outputs.claimLatest('g', 'transactions', 0);
    let offset = 0;
    return { claim, write: (views: RiskScoreView[]) => outputs.writeLatest(views, claim, (offset += views.length || 1)) };
  };
  const top = async (minBand: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL', first: number) =>
    (await service.top(minBand, first)).map((v) => `${v.customerId}:${v.score}`);

  it('ranks each customer by its latest score, highest first, ties by customer id', async () => {
    const { write } = await writer();
    await write([view('c-b', 500, '2026-11-24T10:00:00.000Z'), view('c-a', 500, '2026-11-24T10:00:00.000Z'), view('c-d', 900, '2026-11-24T10:00:00.000Z')]);
    await write([view('c-c', 500, '2026-11-24T10:00:00.000Z'), view('c-e', 100, '2026-11-24T10:00:00.000Z')]);
    // A newer score of c-e moves it up.
    await write([view('c-e', 450, '2026-11-24T11:00:00.000Z')]);

    expect(await top('LOW', 10)).toEqual(['c-d:900', 'c-a:500', 'c-b:500', 'c-c:500', 'c-e:450']);
    // `first` cuts inside a tie: the smallest customer ids keep their places.
    expect(await top('LOW', 2)).toEqual(['c-d:900', 'c-a:500']);
    expect(await top('LOW', 3)).toEqual(['c-d:900', 'c-a:500', 'c-b:500']);
    expect(await top('CRITICAL', 10)).toEqual(['c-d:900']);
    expect(await top('HIGH', 10)).toEqual(['c-d:900', 'c-a:500', 'c-b:500', 'c-c:500']);
    expect(await redis.zcard(rankingKey(prefix))).toBe(5);
  });

  it('refuses every write of a consumer whose partition another consumer has claimed since, and writes none of it', async () => {
    const first = await writer();
    await first.write([view('c-a', 300, '2026-11-24T10:00:00.000Z')]);
    const second = await writer();
    // The new owner learns how far the latest scores were written (the first one's batch ended at offset 1).
    expect(second.claim?.writtenFrom).toBe(1);
    // 1,200 customers: three calls, each refused on its own.
    const many = Array.from({ length: 1_200 }, (_, i) => view(`c-${i}`, 800, '2026-11-24T10:00:01.000Z'));
    await expect(first.write(many)).rejects.toBeInstanceOf(LatestClaimLost);
    expect(await top('LOW', 5)).toEqual(['c-a:300']);
    expect(await redis.hget(second.claim!.key, 'written')).toBe('1');
    // The owner writes them all, and moves `written` once.
    await second.write(many);
    expect(await redis.zcard(rankingKey(prefix))).toBe(1_201);
    expect(await redis.hget(second.claim!.key, 'written')).toBe('1200');
  });

  it('refuses a write whose partition was claimed after its writer last read the claim, by failing its transaction', async () => {
    const { claim, write } = await writer();
    await write([view('c-a', 300, '2026-11-24T10:00:00.000Z')]);
    // The writer watches its claim since the end of that write; another consumer takes the partition over now.
    await riskOutputs({ logger, redis, redisKeyPrefix: prefix }).claimLatest('g', 'transactions', 0);
    const calls = jest.spyOn(redis, 'sendCommand');
    try {
      await expect(write([view('c-a', 900, '2026-11-24T10:00:01.000Z'), view('c-b', 800, '2026-11-24T10:00:01.000Z')])).rejects.toBeInstanceOf(LatestClaimLost);
      const names = calls.mock.calls.map(([command]) => command.name.toLowerCase());
      // One transaction, sent on the token read before the takeover and failed by its WATCH (the
      // claims read behind it); a claim that is not the writer's is read once more before a refusal.
      expect(names.filter((name) => name === 'exec')).toHaveLength(1);
      expect(names.filter((name) => name === 'watch')).toHaveLength(2);
    } finally {
      calls.mockRestore();
    }
    expect(await top('LOW', 5)).toEqual(['c-a:300']);
    expect(await redis.hget(claim!.key, 'written')).toBe('1');
  });

  it('writes the batches of several partitions scored in one turn in one transaction, and refuses only the fenced partition', async () => {
    const outputs = riskOutputs({ logger, redis, redisKeyPrefix: prefix });
    const claims = await Promise.all([0, 1, 2].map((partition) => outputs.claimLatest('g', 'transactions', partition)));
    // Partition 2 changed hands: another consumer holds its claim now.
    await riskOutputs({ logger, redis, redisKeyPrefix: prefix }).claimLatest('g', 'transactions', 2);
    const calls = jest.spyOn(redis, 'sendCommand');
    try {
      const results = await Promise.allSettled(
        [0, 1, 2].map((partition) =>
          outputs.writeLatest(
            [view(`c-${partition}-a`, 100 + partition, '2026-11-24T10:00:00.000Z'), view(`c-${partition}-b`, 500, '2026-11-24T10:00:00.000Z')],
            claims[partition],
            7,
          ),
        ),
      );
      const names = calls.mock.calls.map(([command]) => command.name.toLowerCase());
      expect(names.filter((name) => name === 'exec')).toHaveLength(1);
      expect(names.filter((name) => name === 'mset' || name === 'zadd')).toEqual(['mset', 'zadd']);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(LatestClaimLost);
    } finally {
      calls.mockRestore();
    }
    expect(await top('LOW', 10)).toEqual(['c-0-b:500', 'c-1-b:500', 'c-1-a:101', 'c-0-a:100']);
    expect(await Promise.all(claims.map((claim) => redis.hget(claim!.key, 'written')))).toEqual(['7', '7', null]);
  });

  it('answers nothing for a band nobody is in', async () => {
    const { write } = await writer();
    await write([view('c-a', 100, '2026-11-24T10:00:00.000Z')]);
    expect(await top('CRITICAL', 5)).toEqual([]);
  });

  it('refuses with SERVICE_UNAVAILABLE, not a stale answer, while Redis is down', async () => {
    const down = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const offline = new RiskService({ prisma: undefined as never, redis: down, redisKeyPrefix: prefix, pubsub: unused, logger });
    const error = await offline.top('LOW', 5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TollgraphError);
    expect((error as TollgraphError).code).toBe('SERVICE_UNAVAILABLE');
    down.disconnect();
  });
});
