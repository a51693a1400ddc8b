import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
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
import { freePort, graphql, runBuilt, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { createThrowawayDatabase, serviceUrl, type ThrowawayDatabase } from '../support/throwaway-database';
import { ask, BROADCAST_DEADLINE_MS, hammer, OWN_ACCOUNT } from '../support/quota-load';
import { tempDir } from '../support/temp-dirs';

/**
 * The gateway on a Redis Cluster of three masters (`scripts/services.sh up redis-cluster`, started
 * here when it is not running; the single Redis of the other tests is not touched), plaintext and
 * (`up --secure redis-cluster`) with TLS to every node and an ACL user, as managed clusters run: this process
 * (A) and a child process (B) share the cluster. Every lease script keeps an account's keys on
 * one slot (a script whose keys span slots is refused with CROSSSLOT: the quota test fails),
 * invalidations and live scores cross processes over the cluster's pub/sub, and the latest
 * scores, one slot per customer, are written and read without cross-slot commands.
 */

const ROOT = join(__dirname, '..', '..');
const SERVICES = join(ROOT, 'scripts', 'services.sh');
const run = promisify(execFile);
const SYSTEM = { type: 'system:test' } as const;
const logger = createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false });

type Profile = 'default' | 'secure';

/**
 * The cluster's settings, as services.sh prints them on `env` (a comment: it is not the default
 * Redis): its nodes, and with the secure profile TLS, the ACL user and the CA.
 */
async function clusterSettings(profile: Profile): Promise<Record<string, string>> {
  const flags = profile === 'secure' ? ['--secure'] : [];
  await run('bash', [SERVICES, 'up', 'redis-cluster', ...flags], { maxBuffer: 16 << 20 });
  const { stdout } = await run('bash', [SERVICES, 'env', ...flags]);
  const settings = /^# a Redis Cluster, to use instead of REDIS_URL: (REDIS_CLUSTER_NODES=.*)$/m.exec(stdout)?.[1];
  if (!settings) throw new Error(`services.sh env names no Redis Cluster:\n${stdout}`);
  return Object.fromEntries(settings.split(' ').map((setting) => setting.split('=') as [string, string]));
}

/** A client of our own on the cluster, with the settings the gateway is given. */
function clusterClient(settings: Record<string, string>): Cluster {
  const tls = settings.REDIS_CLUSTER_TLS === 'true' ? { ca: readFileSync(settings.REDIS_TLS_CA_FILE) } : undefined;
  return new Cluster(settings.REDIS_CLUSTER_NODES.split(','), {
    redisOptions: { tls, username: settings.REDIS_CLUSTER_USERNAME, password: settings.REDIS_CLUSTER_PASSWORD },
  });
}

describe.each([
  ['default', 'plaintext'],
  ['secure', 'TLS to every node and an ACL user'],
] as Array<[Profile, string]>)('on a Redis Cluster of three masters (%s profile: %s), across two gateway processes', (profile) => {
  let settings: Record<string, string>;
  let a: TestGateway;
  let b: RunningProcess;
  let cluster: Cluster;
  const clients: Client[] = [];

  beforeAll(async () => {
    settings = await clusterSettings(profile);
    // REDIS_URL empty = unset: the cluster instead of the single Redis
    a = await startTestGateway({ REDIS_URL: '', ...settings });
    b = await startGatewayProcess({ ...a.env, LOG_LEVEL: 'warn' });
    cluster = clusterClient(settings);
  }, 180_000);
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
    if (profile === 'secure') {
      // the nodes take nothing but TLS, and no one but the ACL user
      const plain = new Cluster(settings.REDIS_CLUSTER_NODES.split(','), { clusterRetryStrategy: () => null, redisOptions: { connectTimeout: 1000 } });
      plain.on('error', () => undefined);
      await expect(plain.ping()).rejects.toThrow();
      plain.disconnect();
    }
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

  it('applies a plan upgrade and a key revocation made on A on process B by broadcast, long before any cache expires', async () => {
    const account = await a.newKey({ plan: 'FREE' });
    const limitOnB = async () => (await ask(b.url, account.key, '{ rateLimit { limit } }')).body.data?.rateLimit.limit;
    expect(await limitOnB()).toBe(1000); // cached on B
    expect((await ask(b.url, account.key, OWN_ACCOUNT, { a: account.accountId })).status).toBe(200);
    let started = Date.now();
    await a.services.accounts.setPlan(account.accountId, 'PROFESSIONAL', SYSTEM);
    await waitFor('the upgrade on B', async () => (await limitOnB()) === 1_000_000, BROADCAST_DEADLINE_MS, 10);
    expect(Date.now() - started).toBeLessThan(BROADCAST_DEADLINE_MS);

    started = Date.now();
    await a.services.keys.revoke(account.keyId, SYSTEM);
    await waitFor(
      'the revocation on B',
      async () => (await ask(b.url, account.key, OWN_ACCOUNT, { a: account.accountId })).status === 401,
      BROADCAST_DEADLINE_MS,
      10,
    );
    expect(Date.now() - started).toBeLessThan(BROADCAST_DEADLINE_MS);
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
      const probe = view('probe', 1, '2026-11-24T11:00:00.000Z');
      client.subscribe(
        {
          query: 'subscription($ids: [ID!]) { riskScoreUpdated(customerIds: $ids) { customerId } }',
          variables: { ids: [customers[0].customerId, probe.customerId] },
        },
        { next: (result) => void live.push((result.data as any).riskScoreUpdated.customerId), error: () => undefined, complete: () => undefined },
      );
      // B listens once a probe announced on the cluster comes back over the feed
      await waitFor(
        'the feed on B to listen',
        async () => {
          await outputs.afterCommit([probe]);
          return live.includes(probe.customerId);
        },
        10_000,
        100,
      );

      // No partition claim in a cluster: each key keeps its newest score itself.
      expect(await outputs.claimLatest('g', 't', 0)).toBeNull();
      await outputs.writeLatest(customers, null, 1);
      // An older event of customer 0 does not replace its newer score, nor its rank.
      await outputs.writeLatest([{ ...view('0', 10, '2026-11-24T10:00:00.000Z'), customerId: customers[0].customerId }], null, 2);
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

/**
 * A misconfigured connection to the secure cluster stops the gateway at start, naming Redis and
 * the cause, as it does for one server (test/ops/secure-services.test.ts).
 */
describe('a gateway misconfigured for a TLS Redis Cluster', () => {
  let settings: Record<string, string>;
  let database: ThrowawayDatabase;
  const tmp = tempDir('tg-cluster-');
  beforeAll(async () => {
    settings = await clusterSettings('secure');
    database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
  }, 180_000);
  afterAll(async () => {
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const startFails = async (overrides: Record<string, string>) => {
    const attempt = runBuilt('dist/main.js', { ...settings, REDIS_URL: '', DATABASE_URL: database.url, PORT: String(await freePort()), ...overrides });
    const timer = setTimeout(() => attempt.child.kill('SIGKILL'), 30_000);
    const code = await attempt.exited.finally(() => clearTimeout(timer));
    return { code, output: attempt.output() };
  };

  it('with a wrong ACL password', async () => {
    const { code, output } = await startFails({ REDIS_CLUSTER_PASSWORD: 'not-the-password' });
    expect(code).toBe(1);
    expect(output).toMatch(/redis: authentication failed: WRONGPASS/);
    expect(output).not.toContain('not-the-password');
  }, 60_000);

  it('with a CA that did not sign the nodes', async () => {
    await run(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-subj', '/CN=Someone else', '-days', '30', '-out', 'other-ca.crt'],
      {
        cwd: tmp,
      },
    );
    const { code, output } = await startFails({ REDIS_TLS_CA_FILE: join(tmp, 'other-ca.crt') });
    expect(code).toBe(1);
    expect(output).toMatch(/redis: TLS: the server's certificate is not signed by a CA this process trusts \(REDIS_TLS_CA_FILE\)/);
  }, 60_000);
});
