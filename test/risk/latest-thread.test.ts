import { randomBytes } from 'node:crypto';
import type { TransferListItem, Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import pino from 'pino';
import { LatestPayload, latestCallsOn, type LatestCall } from '../../src/risk/pipeline/latest-calls';
import { LatestThread } from '../../src/risk/pipeline/latest-thread';
import { riskOutputs } from '../../src/risk/pipeline/outputs';
import { encodeLatest, latestKey, rankingKey, scoreView, type RiskScoreView } from '../../src/risk/view';
import { serviceUrl } from '../support/throwaway-database';
import { sampleTransaction } from './support';

/**
 * The risk consumer writes its latest scores from a thread of its own (src/risk/pipeline/
 * latest-thread.ts): the same calls (transactions) as on the main thread, on a connection of the
 * thread's, with what a thread's end does to the calls it held.
 */
describe('the latest-score thread (real Redis)', () => {
  let redis: Redis;
  const logger = pino({ level: 'silent' });
  beforeAll(() => {
    redis = new Redis(serviceUrl('REDIS_URL'));
  });
  afterAll(() => redis.quit());

  const view = (customerId: string, score: number, eventTime: string): RiskScoreView => ({
    customerId,
    eventId: `e-${customerId}-${score}`,
    score,
    band: score >= 700 ? 'CRITICAL' : 'LOW',
    factors: [{ code: 'NEW_DEVICE', contribution: score, detail: 'a device never seen — first time' }],
    eventTime,
    computedAt: '2026-12-06T10:00:00.000Z',
    modelVersion: 'test',
  });
  const views = Array.from({ length: 30 }, (_, i) => view(`c-${i}`, (i * 37) % 1000, `2026-12-06T09:${String(i).padStart(2, '0')}:00.000Z`));

  /** One call: both partitions' claims, each with half of the views. */
  const callFor = async (prefix: string, group: string): Promise<LatestCall> => {
    const outputs = riskOutputs({ logger, redis, redisKeyPrefix: prefix });
    const claims = [await outputs.claimLatest(group, 'transactions', 0), await outputs.claimLatest(group, 'transactions', 1)];
    const payload = new LatestPayload();
    claims.forEach((claim, p) => {
      const part = views.filter((_, i) => i % 2 === p);
      payload.group(claim!.token, String(100 + p), part.length);
      for (const v of part) payload.customer(v);
    });
    return { claims: claims.map((claim) => claim!.key), payload: Uint8Array.from(payload.bytes) };
  };
  const stored = async (prefix: string) => ({
    latest: await redis.mget(views.map((v) => latestKey(prefix, v.customerId))),
    ranking: await redis.zrange(rankingKey(prefix), '0', '-1', 'WITHSCORES'),
  });
  const threadFor = (prefix: string) =>
    new LatestThread({ redis: { REDIS_URL: serviceUrl('REDIS_URL'), REDIS_CLUSTER_TLS: false }, prefix, logLevel: 'silent' }, logger);

  /** A thread of its own for a test, on a fresh key prefix, closed after it. */
  const withThread = async (test: (thread: LatestThread, prefix: string) => Promise<void>) => {
    const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    const thread = threadFor(prefix);
    try {
      await test(thread, prefix);
    } finally {
      await thread.close();
    }
  };

  it('writes what the same call writes on this thread, and refuses a group whose partition was claimed since', async () => {
    const here = `tg-test-${randomBytes(4).toString('hex')}:`;
    const there = `tg-test-${randomBytes(4).toString('hex')}:`;
    const thread = threadFor(there);
    try {
      expect(await latestCallsOn(redis, here).run([await callFor(here, 'g')])).toEqual([[1, 1]]);
      const call = await callFor(there, 'g');
      expect(await thread.run([call])).toEqual([[1, 1]]);
      const [inline, threaded] = [await stored(here), await stored(there)];
      expect(threaded).toEqual(inline);
      expect(threaded.latest).toEqual(views.map(encodeLatest));
      expect(threaded.ranking).toHaveLength(2 * views.length);
      // Another consumer claims partition 1: the same call again is refused for it, still written for partition 0.
      await riskOutputs({ logger, redis, redisKeyPrefix: there }).claimLatest('g', 'transactions', 1);
      expect(await thread.run([call])).toEqual([[1, 0]]);
    } finally {
      await thread.close();
    }
  });

  it('writes a pipeline score as its event time in ms (13 digits, from the event) then its JSON, as encodeLatest reads it from eventTime', async () => {
    const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    const outputs = riskOutputs({ logger, redis, redisKeyPrefix: prefix });
    const claim = await outputs.claimLatest('g', 'transactions', 0);
    // Of 2000 (12 digits, a leading zero), of 2026, and one whose timestamp is not in the canonical form.
    const scores = ['2000-01-01T00:00:00.001Z', '2026-12-06T09:41:07.250Z', '2026-12-06T09:41:07.25+00:00'].map((timestamp, i) =>
      scoreView(sampleTransaction({ customerId: `p-${i}`, timestamp }), { score: 100 * i, band: 'LOW', factors: [] }, '2026-12-06T10:00:00.000Z'),
    );
    const payload = new LatestPayload();
    payload.group(claim!.token, '3', scores.length);
    for (const score of scores) payload.customer(score);
    expect(await latestCallsOn(redis, prefix).run([{ claims: [claim!.key], payload: Uint8Array.from(payload.bytes) }])).toEqual([[1]]);
    const values = await redis.mget(scores.map((score) => latestKey(prefix, score.customerId)));
    expect(values.map((value) => value!.slice(0, 13))).toEqual(['0946684800001', '1796550067250', '1796550067250']);
    expect(values).toEqual(scores.map((score) => `${String(Date.parse(score.eventTime)).padStart(13, '0')}${JSON.stringify(score)}`));
    expect(values).toEqual(scores.map(encodeLatest));
  });

  it('hands the thread only the bytes of each payload, and leaves the payload as it was', () =>
    withThread(async (thread, prefix) => {
      const { claims, payload } = await callFor(prefix, 'g');
      // A payload as LatestPayload makes it: a view at the start of a larger buffer.
      const larger = new Uint8Array(512 * 1024);
      larger.set(payload);
      const view = larger.subarray(0, payload.length);
      thread.start();
      const worker = (thread as unknown as { worker: Worker }).worker;
      const postMessage = worker.postMessage.bind(worker);
      let posted: { sizes: number[]; transferred: boolean } | undefined;
      jest.spyOn(worker, 'postMessage').mockImplementationOnce((message: { call: LatestCall[] }, transfer?: readonly TransferListItem[]) => {
        const buffers = message.call.map(({ payload }) => payload.buffer);
        posted = { sizes: buffers.map((buffer) => buffer.byteLength), transferred: buffers.every((buffer) => transfer?.includes(buffer as ArrayBuffer)) };
        postMessage(message, transfer);
      });
      expect(await thread.run([{ claims, payload: view }])).toEqual([[1, 1]]);
      // Handed over (transferred, not cloned), and only its own bytes.
      expect(posted).toEqual({ sizes: [payload.length], transferred: true });
      expect(larger.buffer.byteLength).toBe(512 * 1024);
      expect(Buffer.from(view).equals(Buffer.from(payload))).toBe(true);
    }));

  it('a thread that ends fails the calls it held, and the next call starts a new one', () =>
    withThread(async (thread, prefix) => {
      const call = await callFor(prefix, 'g');
      expect(await thread.run([call])).toEqual([[1, 1]]);
      const held = thread.run([call]);
      await (thread as unknown as { worker: Worker }).worker.terminate();
      await expect(held).rejects.toThrow('the latest-score thread ended');
      expect(await thread.run([await callFor(prefix, 'g')])).toEqual([[1, 1]]);
    }));

  it('closes once the calls under way are answered', async () => {
    const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
    const thread = threadFor(prefix);
    const answered = thread.run([await callFor(prefix, 'g')]);
    await thread.close();
    await expect(answered).resolves.toEqual([[1, 1]]);
    expect((await stored(prefix)).latest.every(Boolean)).toBe(true);
  });
});
