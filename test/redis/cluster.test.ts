import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import { Cluster } from 'ioredis';
import WebSocket from 'ws';
import { createLogger } from '../../src/ops/logger';
import { redisPubSub } from '../../src/pubsub/pubsub';
import { riskOutputs } from '../../src/risk/pipeline/outputs';
import type { RiskScoreView } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';
import { graphql, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { ask, hammer, OWN_ACCOUNT } from '../support/quota-load';

/**
 * The gateway on a Redis Cluster of three masters (`scripts/services.sh up redis-cluster`, started
 * here when it is not running; the single Redis of the other tests is not touched): this process
 * (A) and a child process (B) share the cluster. Every lease script keeps an account's keys on
 * one slot (a script whose keys span slots is refused with CROSSSLOT: the quota test fails),
 * invalidations and live scores cross processes over the cluster's pub/sub, and the latest
 * scores, one slot per customer, are written and read without cross-slot commands.
 */

const ROOT = join(__dirname, '..', '..');
const SYSTEM = { type: 'system:test' } as const;
const logger = createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false });

/** The cluster's nodes, as services.sh prints them on `env` (a comment: it is not the default Redis). */
async function clusterNodes(): Promise<string> {
  const services = join(ROOT, 'scripts', 'services.sh');
  await promisify(execFile)('bash', [services, 'up', 'redis-cluster'], { maxBuffer: 16 << 20 });
  const { stdout } = await promisify(execFile)('bash', [services, 'env']);
  const nodes = /REDIS_CLUSTER_NODES=(\S+)/.exec(stdout)?.[1];
  if (!nodes) throw new Error(`services.sh env names no Redis Cluster:\n${stdout}`);
  return nodes;
}

describe('on a Redis Cluster of three masters, across two gateway processes', () => {
  let a: TestGateway;
  let b: RunningProcess;
  let cluster: Cluster;
  const clients: Client[] = [];

  beforeAll(async () => {
    const nodes = await clusterNodes();
    // REDIS_URL empty = unset: the cluster instead of the single Redis
    a = await startTestGateway({ REDIS_URL: '', REDIS_CLUSTER_NODES: nodes });
    b = await startGatewayProcess({ ...a.env, LOG_LEVEL: 'warn' });
    cluster = new Cluster(nodes.split(','));
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    cluster?.disconnect();
    await b?.stop();
    await a?.stop();
  });

  it('runs on three masters', async () => {
    const masters = ((await cluster.call('CLUSTER', 'NODES')) as string).split('\n').filter((line) => /\bmaster\b/.test(line));
    expect(masters.length).toBeGreaterThanOrEqual(3);
    expect(a.services.redis?.isCluster).toBe(true);
  });

  it('admits exactly 1,000 a day for FREE to 200 concurrent clients on 2 processes', async () => {
    const account = await a.newKey({ plan: 'FREE' });
    await a.services.accounts.setOverrides(account.accountId, { burstPerSecond: 100_000 }, SYSTEM);
    const { tally, done } = hammer([a.url, b.url], 100, account);
    await done;
    expect(tally.refusals).toEqual({ QUOTA_EXCEEDED: 200 });
    expect(tally.admitted).toBe(1000);
    expect((await ask(b.url, account.key, '{ rateLimit { used remaining } }')).body.data.rateLimit).toEqual({ used: 1000, remaining: 0 });
    // Where the day's count lives: under the account's hash tag, one slot with its lease holders.
    const day = new Date().toISOString().slice(0, 10);
    const dailyKey = `${a.env.REDIS_KEY_PREFIX}limits:daily:{${account.accountId}}:${day}`;
    expect(await cluster.get(dailyKey)).toBe('1000');
    const slots = await Promise.all(
      [dailyKey, `${dailyKey}:holders`, `${a.env.REDIS_KEY_PREFIX}limits:burst:{${account.accountId}}`].map((key) => cluster.call('CLUSTER', 'KEYSLOT', key)),
    );
    expect(new Set(slots).size).toBe(1);
  });

  it('applies a plan upgrade and a key revocation made on A on process B within a second', async () => {
    const account = await a.newKey({ plan: 'FREE' });
    const limitOnB = async () => (await ask(b.url, account.key, '{ rateLimit { limit } }')).body.data?.rateLimit.limit;
    expect(await limitOnB()).toBe(1000); // cached on B
    expect((await ask(b.url, account.key, OWN_ACCOUNT, { a: account.accountId })).status).toBe(200);
    let started = Date.now();
    await a.services.accounts.setPlan(account.accountId, 'PROFESSIONAL', SYSTEM);
    await waitFor('the upgrade on B', async () => (await limitOnB()) === 1_000_000, 1000, 10);
    expect(Date.now() - started).toBeLessThan(1000);

    started = Date.now();
    await a.services.keys.revoke(account.keyId, SYSTEM);
    await waitFor('the revocation on B', async () => (await ask(b.url, account.key, OWN_ACCOUNT, { a: account.accountId })).status === 401, 1000, 10);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('writes latest scores one slot per customer, reads them on B (riskScore, riskScores, topRisks) and announces them live to B', async () => {
    const { key } = await a.newKey({ plan: 'ENTERPRISE' });
    const tag = randomUUID().slice(0, 8);
    const view = (customer: string, score: number, eventTime: string): RiskScoreView => ({
      customerId: `c-${tag}-${customer}`,
      eventId: randomUUID(),
      score,
      band: score >= 750 ? 'CRITICAL' : 'LOW',
      factors: [],
      eventTime,
      computedAt: eventTime,
      modelVersion: 'test',
    });
    const customers = Array.from({ length: 30 }, (_, i) => view(String(i), 990 + (i % 10), '2026-11-24T11:00:00.000Z'));
    // A consumer's outputs on the cluster: this process plays the risk consumer.
    const pubsub = redisPubSub(cluster as never, `${a.env.REDIS_KEY_PREFIX}events:`, logger);
    const outputs = riskOutputs({ logger, redis: cluster as never, redisKeyPrefix: a.env.REDIS_KEY_PREFIX, pubsub });
    try {
      const client = createClient({
        url: `${b.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key}` },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
      });
      clients.push(client);
      const live: string[] = [];
      client.subscribe(
        { query: 'subscription($ids: [ID!]) { riskScoreUpdated(customerIds: $ids) { customerId } }', variables: { ids: [customers[0].customerId] } },
        { next: (result) => void live.push((result.data as any).riskScoreUpdated.customerId), error: () => undefined, complete: () => undefined },
      );
      await new Promise((resolve) => setTimeout(resolve, 500)); // the subscription reaches B's pub/sub listener

      await outputs.writeLatest(customers);
      // An older event of customer 0 does not replace its newer score, nor its rank.
      await outputs.writeLatest([{ ...view('0', 10, '2026-11-24T10:00:00.000Z'), customerId: customers[0].customerId }]);
      await outputs.afterCommit([customers[0]]);

      const ids = [customers[0].customerId, 'c-never-scored', customers[29].customerId];
      const read = await graphql(
        b.url,
        'query($ids: [ID!]!, $one: ID!) { riskScore(customerId: $one) { eventId score } riskScores(customerIds: $ids) { customerId score } }',
        {
          headers: { authorization: `Bearer ${key}` },
          variables: { ids, one: customers[0].customerId },
        },
      );
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data.riskScore).toEqual({ eventId: customers[0].eventId, score: customers[0].score });
      expect(read.body.data.riskScores).toEqual([{ customerId: ids[0], score: customers[0].score }, null, { customerId: ids[2], score: customers[29].score }]);

      const top = await graphql(b.url, '{ topRisks(first: 100, minBand: CRITICAL) { customerId score } }', { headers: { authorization: `Bearer ${key}` } });
      expect(top.body.errors).toBeUndefined();
      const mine = (top.body.data.topRisks as Array<{ customerId: string; score: number }>).filter((entry) => entry.customerId.startsWith(`c-${tag}-`));
      expect(mine).toHaveLength(30);
      expect(mine.map((entry) => entry.score)).toEqual([...mine.map((entry) => entry.score)].sort((x, y) => y - x));

      await waitFor('the live score on B', async () => live.includes(customers[0].customerId), 5000, 20);
    } finally {
      await pubsub.close();
    }
  });
});
