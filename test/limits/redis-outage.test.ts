import { Redis } from 'ioredis';
import { privateService, type PrivateService } from '../support/private-service';
import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';

/** Redis stopped under load: the insurance policy keeps answering, and Redis takes over again when back. */
describe('limits while Redis is down', () => {
  let redis: PrivateService;
  let setup: TestGateway;
  let gateway: RunningProcess;
  let key: string;
  let accountId: string;

  beforeAll(async () => {
    redis = await privateService('redis');
    setup = await startTestGateway({ REDIS_URL: redis.url, LIMITS_INSURANCE_SHARE: '0.5' });
    ({ key, accountId } = await setup.newKey({ plan: 'PROFESSIONAL' }));
    gateway = await startGatewayProcess({ ...setup.env, LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await gateway?.stop();
    await setup?.stop();
    await redis?.destroy();
  });

  const ask = async (query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(5000), // nothing may hang on a dead connection
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const own = () => ask('query($a: ID!) { account(id: $a) { id } }', { a: accountId });
  const ready = async () => (await (await fetch(`${gateway.url}/readyz`)).json()) as { ready: boolean; degraded: string[] };
  const metric = async () => (await (await fetch(`${gateway.url}/metrics`)).text()).match(/^tollgraph_limits_degraded (\d)$/m)?.[1];

  it('keeps serving from the insurance limiter, says so, and returns to Redis when it is back', async () => {
    const counted = new Redis(redis.url);
    const dailyKey = `${setup.env.REDIS_KEY_PREFIX}limits:daily:${accountId}:${new Date().toISOString().slice(0, 10)}`;
    try {
      // Load running across the outage: every answer must come, and come as 200. Paced at most
      // 100 requests a second, under the burst the insurance limiter allows this process
      // (PROFESSIONAL's 500/s x LIMITS_INSURANCE_SHARE 0.5): a fast machine's closed loop exceeds
      // it, and the 429s would be the limiter doing its job, not the outage.
      let loading = true;
      const statuses: number[] = [];
      const load = (async () => {
        while (loading) {
          const next = Date.now() + 10;
          statuses.push((await own()).status);
          if (Date.now() < next) await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
        }
      })();

      await waitFor('some load through Redis', async () => statuses.length >= 20);
      expect(Number(await counted.get(dailyKey))).toBeGreaterThanOrEqual(20);
      expect(await metric()).toBe('0');

      await redis.stop();
      const duringOutage = statuses.length;
      await waitFor('the outage to be reported', async () => (await ready()).degraded.includes('redis'));
      expect((await ready()).ready).toBe(true); // still in rotation: the policy keeps it serving
      expect(await metric()).toBe('1');
      expect((await ask('{ rateLimit { degraded } }')).body.data.rateLimit.degraded).toBe(true);
      await waitFor('load served during the outage', async () => statuses.length >= duringOutage + 50);

      await redis.start();
      await waitFor('Redis to be used again', async () => !(await ready()).degraded.includes('redis'), 15000);
      expect(await metric()).toBe('0');
      loading = false;
      await load;
      expect(new Set(statuses)).toEqual(new Set([200]));

      // Counted in Redis again: the counter holds what was spent plus this process's unspent lease.
      const used = async () => (await ask('{ rateLimit { used } }')).body.data.rateLimit.used as number;
      const before = await used();
      expect(Number(await counted.get(dailyKey))).toBeGreaterThanOrEqual(before);
      await own();
      await own();
      expect(await used()).toBe(before + 2);
      expect(gateway.output()).not.toMatch(/unhandled|uncaught/i);
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      counted.disconnect();
    }
  });
});
