import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';

const SYSTEM = { type: 'system:test' } as const;
const OWN_ACCOUNT = 'query($a: ID!) { account(id: $a) { id } }'; // costs exactly 1

interface Answer {
  status: number;
  code?: string;
  headers: Headers;
  body: any;
}

/** Daily quotas and burst limits, shared through Redis by two gateway processes. */
describe('quotas and burst limits across two gateway processes', () => {
  let a: TestGateway;
  let b: RunningProcess;

  beforeAll(async () => {
    a = await startTestGateway();
    b = await startGatewayProcess({ ...a.env, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const ask = async (url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<Answer> => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as any;
    return { status: response.status, code: body.errors?.[0]?.extensions?.code, headers: response.headers, body };
  };

  it('admits exactly 1,000 requests a day for FREE, with 200 concurrent clients on two processes', async () => {
    const { accountId, key } = await a.newKey({ plan: 'FREE' });
    // The burst limit is not under test here: lift it so only the daily quota decides.
    await a.services.accounts.setOverrides(accountId, { burstPerSecond: 100_000 }, SYSTEM);
    let admitted = 0;
    const refusals: Record<string, number> = {};
    const client = async (index: number) => {
      const url = index % 2 === 0 ? a.url : b.url;
      for (;;) {
        const answer = await ask(url, key, OWN_ACCOUNT, { a: accountId });
        if (answer.status === 200 && !answer.code) admitted++;
        else {
          refusals[answer.code ?? String(answer.status)] = (refusals[answer.code ?? String(answer.status)] ?? 0) + 1;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: 200 }, (_, i) => client(i)));
    expect(admitted).toBe(1000);
    expect(refusals).toEqual({ QUOTA_EXCEEDED: 200 });

    const refused = await ask(b.url, key, OWN_ACCOUNT, { a: accountId });
    expect(refused.status).toBe(429);
    const error = refused.body.errors[0];
    expect(error.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 1000, upgradeTo: 'PROFESSIONAL' });
    expect(Date.parse(error.extensions.resetAt)).toBe(Date.parse(new Date().toISOString().slice(0, 10)) + 86_400_000);
    expect(error.message).toMatch(/PROFESSIONAL plan allows 1000000 a day/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Refusals are not charged: the counter stays at the quota.
    expect((await ask(a.url, key, '{ rateLimit { used remaining } }')).body.data.rateLimit).toEqual({ used: 1000, remaining: 0 });
  });

  it('answers a burst over the per-second limit with 429 and a Retry-After that works', async () => {
    const { accountId, key } = await a.newKey({ plan: 'FREE' }); // 10 cost units per second
    // 30 at once, timed: the limit allows 10 per one-second window, so the windows a volley touched
    // (however slow the machine) bound what it may admit: two windows' worth when it took under a second.
    const volley = async () => {
      const sent = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => ({ ...(await ask(i % 2 ? a.url : b.url, key, OWN_ACCOUNT, { a: accountId })), receivedAt: Date.now() })),
      );
      const windowsTouched = Math.ceil((Date.now() - sent) / 1000) + 1;
      const admitted = answers.filter((answer) => answer.status === 200).length;
      expect({ admitted, windowsTouched, withinLimit: admitted <= 10 * windowsTouched }).toMatchObject({ withinLimit: true });
      expect(answers.filter((answer) => answer.status !== 200 && answer.status !== 429)).toEqual([]);
      return { admitted, limited: answers.filter((answer) => answer.status === 429) };
    };
    const first = await volley();
    expect(first.admitted).toBeGreaterThanOrEqual(1);
    // A machine slow enough to spread 30 requests over three windows admits them all: again until one is refused.
    let limited = first.limited;
    for (let again = 0; limited.length === 0 && again < 5; again++) limited = (await volley()).limited;
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const answer of limited) {
      expect(answer.code).toBe('RATE_LIMITED');
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(answer.body.errors[0].extensions.retryAfterSeconds).toBe(retryAfter);
    }
    // A client that does what every Retry-After said (counted from when it got that answer) is admitted
    // on its first try. The wait is the behaviour under test, not a guess at how long something takes.
    const retryAt = Math.max(...limited.map((answer) => answer.receivedAt + Number(answer.headers.get('retry-after')) * 1000));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, retryAt - Date.now())));
    expect((await ask(b.url, key, OWN_ACCOUNT, { a: accountId })).status).toBe(200);
  });

  it('refunds what a query reserved but did not use, to the daily quota and the burst', async () => {
    const { accountId, key } = await a.newKey({ plan: 'PROFESSIONAL' });
    const used = async () => (await ask(a.url, key, '{ rateLimit { used } }')).body.data.rateLimit.used;
    expect(await used()).toBe(0);
    // Asks for its own account (1) and another's (1): the other is null, so one unit comes back.
    const answer = await ask(a.url, key, 'query($a: ID!, $b: ID!) { mine: account(id: $a) { id } other: account(id: $b) { id } }', {
      a: accountId,
      b: '01900000-0000-7000-8000-000000000000',
    });
    expect(answer.body.extensions.cost).toMatchObject({ requestedQueryCost: 2, actualQueryCost: 1 });
    expect(await used()).toBe(1);
    // The burst gets its unit back too (the account's first burst window is this request's).
    expect(answer.body.extensions.cost.throttleStatus).toMatchObject({ maximumAvailable: 500, currentlyAvailable: 499 });
  });

  it('rejects a query over the plan’s maximum cost or depth before any resolver runs', async () => {
    const { accountId, key } = await a.newKey({ plan: 'FREE' }); // max cost 10, max depth 8
    const keysBefore = await a.services.db.prisma.apiKey.count({ where: { accountId } });
    const eleven = Array.from({ length: 11 }, (_, i) => `k${i}: createApiKey(accountId: $a) { key }`).join('\n');
    const costly = await ask(a.url, key, `mutation($a: ID!) { ${eleven} }`, { a: accountId });
    expect(costly.status).toBe(400);
    expect(costly.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', requestedQueryCost: 11, maxQueryCost: 10 });
    expect(costly.body.data).toBeUndefined();

    await a.services.accounts.setOverrides(accountId, { maxDepth: 2 }, SYSTEM);
    const deep = await ask(a.url, key, 'mutation($a: ID!) { createApiKey(accountId: $a) { apiKey { id } } }', { a: accountId });
    expect(deep.status).toBe(400);
    expect(deep.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', depth: 3, maxDepth: 2 });
    expect(await a.services.db.prisma.apiKey.count({ where: { accountId } })).toBe(keysBefore);
    // Nothing was charged for the refused queries.
    expect((await ask(a.url, key, '{ rateLimit { used } }')).body.data.rateLimit.used).toBe(0);
  });

  it('prices riskScores per id, caps the maximum cost at the burst size, and refuses past 30 aliases or 20 root fields', async () => {
    const { accountId, key } = await a.newKey({ plan: 'ENTERPRISE' });
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `c-${i}`);
    const scores = await ask(a.url, key, 'query($ids: [ID!]!) { riskScores(customerIds: $ids) { band } }', { ids: ids(7) });
    expect(scores.status).toBe(200);
    expect(scores.body.extensions.cost).toMatchObject({ requestedQueryCost: 7, actualQueryCost: 0 }); // no scores yet: all refunded

    // A query dearer than one second of burst could never run: the effective maximum is the smaller.
    await a.services.accounts.setOverrides(accountId, { burstPerSecond: 5, maxQueryCost: 50 }, SYSTEM);
    await waitFor(
      'the override',
      async () => (await ask(a.url, key, '{ rateLimit { limit } }')).headers.get('ratelimit-policy')?.includes('q=5;') ?? false,
      30_000,
      50,
    );
    const six = await ask(a.url, key, 'query($ids: [ID!]!) { riskScores(customerIds: $ids) { band } }', { ids: ids(6) });
    expect(six.status).toBe(400);
    expect(six.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', requestedQueryCost: 6, maxQueryCost: 5 });

    const aliases = (n: number) => `{ plans { ${Array.from({ length: n }, (_, i) => `c${i}: code`).join(' ')} } }`;
    expect((await ask(a.url, key, aliases(30))).status).toBe(200);
    const thirtyOne = await ask(a.url, key, aliases(31));
    expect(thirtyOne.status).toBe(400);
    expect(thirtyOne.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'maxAliases', maximum: 30 });

    const roots = ['health { status }', 'plans { code }', 'me { key { id } }', 'rateLimit { used }'];
    const rootFields = (n: number) => `{ ${Array.from({ length: n }, (_, i) => (i < roots.length ? roots[i] : `r${i}: health { status }`)).join(' ')} }`;
    expect((await ask(a.url, key, rootFields(20))).status).toBe(200);
    const twentyOne = await ask(a.url, key, rootFields(21));
    expect(twentyOne.status).toBe(400);
    expect(twentyOne.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', rootFields: 21, maxRootFields: 20 });
  });

  it('raises an account’s limits within 5 s on both processes when its plan is upgraded', async () => {
    const { accountId, key } = await a.newKey({ plan: 'FREE' });
    const policyOn = async (url: string) => (await ask(url, key, '{ rateLimit { limit } }')).headers.get('ratelimit-policy');
    expect(await policyOn(b.url)).toBe('"burst";q=10;w=1, "daily";q=1000;w=86400'); // cached on B now
    const started = Date.now();
    await a.services.accounts.setPlan(accountId, 'PROFESSIONAL', SYSTEM);
    for (const url of [a.url, b.url]) {
      await waitFor(
        `the upgrade on ${url}`,
        async () => (await ask(url, key, '{ rateLimit { limit burst { limit } plan } }')).body.data.rateLimit.limit === 1_000_000,
        5000,
        25,
      );
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await policyOn(b.url)).toBe('"burst";q=500;w=1, "daily";q=1000000;w=86400');
  });

  it('keeps the headers, extensions.cost and the rateLimit query in agreement', async () => {
    const { accountId, key } = await a.newKey({ plan: 'PROFESSIONAL' });
    await ask(a.url, key, OWN_ACCOUNT, { a: accountId });
    const answer = await ask(b.url, key, 'query($a: ID!) { account(id: $a) { id } rateLimit { cost limit used remaining resetAt burst { limit } } }', {
      a: accountId,
    });
    const { cost } = answer.body.extensions;
    const status = answer.body.data.rateLimit;
    expect(status).toMatchObject({ cost: 0, limit: 1_000_000, used: 2, remaining: 999_998, burst: { limit: 500 } });
    expect(cost).toMatchObject({
      requestedQueryCost: 1,
      actualQueryCost: 1,
      quota: { limit: status.limit, remaining: status.remaining, resetAt: status.resetAt },
    });
    expect(cost.throttleStatus).toMatchObject({ maximumAvailable: 500, restoreRate: 500 });
    expect(answer.headers.get('ratelimit-policy')).toBe(`"burst";q=${cost.throttleStatus.maximumAvailable};w=1, "daily";q=${cost.quota.limit};w=86400`);
    const [, burstRemaining, dailyRemaining] = answer.headers.get('ratelimit')!.match(/^"burst";r=(\d+);t=\d+, "daily";r=(\d+);t=\d+$/)!;
    expect(Number(burstRemaining)).toBe(cost.throttleStatus.currentlyAvailable);
    expect(Number(dailyRemaining)).toBe(cost.quota.remaining);
  });

  it('records crossing 80 % and 100 % of the quota once per account and day, and notifies hooks', async () => {
    const { accountId, key } = await a.newKey({ plan: 'FREE' });
    await a.services.accounts.setOverrides(accountId, { dailyQuota: 10 }, SYSTEM);
    const heard: number[] = [];
    const unsubscribe = await a.services.quotaAlerts.onAlert((event) => event.accountId === accountId && heard.push(event.threshold));
    for (let i = 0; i < 12; i++) await ask(i % 2 ? a.url : b.url, key, OWN_ACCOUNT, { a: accountId });
    await waitFor('both alerts to be heard', async () => heard.length === 2, 5000, 20);
    await unsubscribe();
    expect(heard.sort()).toEqual([100, 80]);
    const admin = await a.newKey({ role: 'ADMIN' });
    const alerts = (await ask(a.url, admin.key, '{ quotaAlerts { accountId threshold usedUnits quota day } }')).body.data.quotaAlerts.filter(
      (alert: { accountId: string }) => alert.accountId === accountId,
    );
    expect(alerts.map((alert: { threshold: number }) => alert.threshold).sort()).toEqual([100, 80]);
    expect(alerts.find((alert: { threshold: number }) => alert.threshold === 80)).toMatchObject({
      usedUnits: 8,
      quota: 10,
      day: new Date().toISOString().slice(0, 10),
    });
  });
});
