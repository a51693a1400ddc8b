import { privateService, type PrivateService } from '../support/private-service';
import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';

const SYSTEM = { type: 'system:test' } as const;
const OWN_ACCOUNT = 'query($a: ID!) { account(id: $a) { id } }'; // costs exactly 1

/**
 * What each LIMITS_REDIS_DOWN_POLICY does while Redis is down, with gateway processes on a Redis
 * of this file's own: fail-closed refuses metered requests, fail-open admits past the limits, and
 * insurance keeps each process within its share, so N processes admit at most N x share x limit.
 */
describe('limits by policy while Redis is down', () => {
  let redis: PrivateService;
  let setup: TestGateway;
  const gateways: Record<'closed' | 'open' | 'insuranceA' | 'insuranceB', RunningProcess> = {} as never;

  beforeAll(async () => {
    redis = await privateService('redis');
    setup = await startTestGateway({ REDIS_URL: redis.url });
    const start = (policy: string, extra: Record<string, string> = {}) =>
      startGatewayProcess({ ...setup.env, LOG_LEVEL: 'warn', LIMITS_REDIS_DOWN_POLICY: policy, ...extra });
    [gateways.closed, gateways.open, gateways.insuranceA, gateways.insuranceB] = await Promise.all([
      start('fail-closed'),
      start('fail-open'),
      start('insurance', { LIMITS_INSURANCE_SHARE: '0.5' }),
      start('insurance', { LIMITS_INSURANCE_SHARE: '0.5' }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(Object.values(gateways).map((gateway) => gateway?.stop()));
    await setup?.stop();
    await redis?.destroy();
  });

  const ask = async (url: string, key: string, query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { data?: any; errors?: Array<{ extensions: { code: string } }> };
    return { status: response.status, code: body.errors?.[0]?.extensions.code, headers: response.headers, body };
  };
  const readiness = async (url: string) => (await (await fetch(`${url}/readyz`)).json()) as { degraded: string[]; failed: string[] };
  /** Redis down as the gateway sees it: degraded (the policy keeps it serving) or failed (fail-closed). */
  const degraded = async (url: string) => {
    const { degraded, failed } = await readiness(url);
    return degraded.includes('redis') || failed.includes('redis');
  };
  const ready = async (url: string) => (await fetch(`${url}/readyz`)).status;

  /** A FREE account whose daily quota is `quota` (the burst lifted, so only the day decides). */
  const account = async (quota: number) => {
    const created = await setup.newKey({ plan: 'FREE' });
    await setup.services.accounts.setOverrides(created.accountId, { dailyQuota: quota, burstPerSecond: 100_000 }, SYSTEM);
    return created;
  };

  it('fail-closed refuses metered requests with 503 and Retry-After and leaves rotation; fail-open admits past the quota; both recover', async () => {
    const closed = await account(5);
    const open = await account(5);
    // Known to both gateways (key and account cached) before the outage.
    expect((await ask(gateways.closed.url, closed.key, OWN_ACCOUNT, { a: closed.accountId })).status).toBe(200);
    expect((await ask(gateways.open.url, open.key, OWN_ACCOUNT, { a: open.accountId })).status).toBe(200);

    await redis.stop();
    try {
      await waitFor('fail-closed to see the outage', () => degraded(gateways.closed.url), 15_000);
      await waitFor('fail-open to see the outage', () => degraded(gateways.open.url), 15_000);
      // Let any lease taken before the outage end (a lease lives at most one burst window).
      await waitFor(
        'leases from before the outage to end',
        async () => (await ask(gateways.closed.url, closed.key, OWN_ACCOUNT, { a: closed.accountId })).status === 503,
        5_000,
        100,
      );

      const refused = await ask(gateways.closed.url, closed.key, OWN_ACCOUNT, { a: closed.accountId });
      expect(refused).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await ready(gateways.closed.url)).toBe(503); // out of rotation under fail-closed
      expect((await readiness(gateways.closed.url)).failed).toContain('redis');
      expect((await ask(gateways.closed.url, closed.key, '{ health { status } }')).status).toBe(200); // free and public: still answered
      // Key guessing is still counted per address whatever the policy: in memory, at LIMITS_INSURANCE_SHARE
      // of AUTH_FAILURES_PER_MINUTE (half of 30). From an address of its own, behind this host's "proxy".
      const guesses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const guess = await fetch(`${gateways.closed.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer tg_test_${String(i).padStart(32, 'z')}`, 'x-forwarded-for': '203.0.113.99' },
          body: JSON.stringify({ query: '{ me { key { id } } }' }),
        });
        guesses.push(guess.status);
      }
      expect(guesses.slice(0, 15)).toEqual(Array(15).fill(401));
      expect(guesses.slice(15)).toEqual(Array(5).fill(429));

      // fail-open: ten requests on a quota of five, all served and all billed (the ledger is not in
      // Redis); it says it is degraded and stays in rotation.
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await ask(gateways.open.url, open.key, OWN_ACCOUNT, { a: open.accountId }));
      expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
      const served = answers.map((answer) => answer.headers.get('x-request-id'));
      const billed = await setup.services.db.sql.query<{ units: number }>(
        'SELECT COALESCE(SUM(cost_units), 0)::int AS units FROM usage_records WHERE request_id = ANY($1)',
        [served],
      );
      expect(billed[0].units).toBe(10);
      expect(await ready(gateways.open.url)).toBe(200);
      expect((await readiness(gateways.open.url)).degraded).toContain('redis');
      expect((await ask(gateways.open.url, open.key, '{ rateLimit { degraded } }')).body.data.rateLimit.degraded).toBe(true);
    } finally {
      await redis.start();
    }
    await waitFor('fail-closed to use Redis again', async () => !(await degraded(gateways.closed.url)), 15_000);
    await waitFor('fail-open to use Redis again', async () => !(await degraded(gateways.open.url)), 15_000);
    // This process's gateway too: the next test's set-up writes through it (its client reconnects on its own backoff).
    await waitFor('the set-up gateway to use Redis again', async () => setup.services.redis?.status === 'ready', 15_000);
    expect((await ask(gateways.closed.url, closed.key, OWN_ACCOUNT, { a: closed.accountId })).status).toBe(200);
    expect(await ready(gateways.closed.url)).toBe(200);
    // Back on Redis the quota decides again (this Redis keeps nothing across a restart: at most 5 more).
    const after: string[] = [];
    for (let i = 0; i < 7; i++) after.push((await ask(gateways.open.url, open.key, OWN_ACCOUNT, { a: open.accountId })).code ?? 'OK');
    expect(after.filter((outcome) => outcome === 'OK').length).toBeLessThanOrEqual(5);
    expect(after.slice(-2)).toEqual(['QUOTA_EXCEEDED', 'QUOTA_EXCEEDED']);
  }, 90_000);

  it('insurance keeps two processes within processes x share x limit of a quota, then refuses', async () => {
    const { key, accountId } = await account(20);
    for (const gateway of [gateways.insuranceA, gateways.insuranceB])
      expect((await ask(gateway.url, key, '{ rateLimit { limit } }')).body.data.rateLimit.limit).toBe(20);
    await redis.stop();
    try {
      for (const gateway of [gateways.insuranceA, gateways.insuranceB]) await waitFor('the outage to be seen', () => degraded(gateway.url), 15_000);
      const admitted = { A: 0, B: 0 };
      const refusals: string[] = [];
      await Promise.all(
        (['A', 'B'] as const).flatMap((name) =>
          Array.from({ length: 5 }, async () => {
            for (;;) {
              const answer = await ask((name === 'A' ? gateways.insuranceA : gateways.insuranceB).url, key, OWN_ACCOUNT, { a: accountId });
              if (answer.status !== 200) return void refusals.push(answer.code ?? String(answer.status));
              admitted[name]++;
            }
          }),
        ),
      );
      // Each process enforces half of the quota in memory: 10 each, 20 in all (the README's bound: 2 x 0.5 x 20).
      expect(admitted).toEqual({ A: 10, B: 10 });
      expect(new Set(refusals)).toEqual(new Set(['QUOTA_EXCEEDED']));
    } finally {
      await redis.start();
    }
    await waitFor('the set-up gateway to use Redis again', async () => setup.services.redis?.status === 'ready', 15_000);
  }, 90_000);
});
