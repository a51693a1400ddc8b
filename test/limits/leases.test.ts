import { Redis } from 'ioredis';
import { serviceUrl } from '../support/throwaway-database';
import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';
import { ask, BROADCAST_DEADLINE_MS, hammer, OWN_ACCOUNT } from '../support/quota-load';

const SYSTEM = { type: 'system:test' } as const;
const today = () => new Date().toISOString().slice(0, 10);

/**
 * Quota leases across four gateway processes on one Redis: each process admits from units it
 * leased, and the totals stay exact (nothing over-admitted, refusals only when nothing is left).
 */
describe('quota leases across four gateway processes', () => {
  let a: TestGateway;
  let children: RunningProcess[];
  let redis: Redis;
  let urls: string[];

  beforeAll(async () => {
    a = await startTestGateway();
    children = await Promise.all([1, 2, 3].map(() => startGatewayProcess({ ...a.env, LOG_LEVEL: 'warn' })));
    urls = [a.url, ...children.map((child) => child.url)];
    redis = new Redis(serviceUrl('REDIS_URL'));
  });
  afterAll(async () => {
    redis?.disconnect();
    await Promise.all((children ?? []).map((child) => child.stop()));
    await a?.stop();
  });

  /** A FREE account whose burst limit is lifted, so only the daily quota (1,000) decides. */
  const freeAccount = async () => {
    const account = await a.newKey({ plan: 'FREE' });
    await a.services.accounts.setOverrides(account.accountId, { burstPerSecond: 100_000 }, SYSTEM);
    return account;
  };

  const reservations = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const count = (path: string) => Number(text.match(new RegExp(`^tollgraph_limits_reservations_total\\{path="${path}"\\} (\\d+)`, 'm'))?.[1] ?? 0);
    return { lease: count('lease'), redis: count('redis') };
  };

  const holders = async (accountId: string) => redis.hgetall(`${a.env.REDIS_KEY_PREFIX}limits:daily:${accountId}:${today()}:holders`);

  it('admits exactly 1,000 a day for FREE to 200 concurrent clients on 4 processes, most of them without a Redis round trip', async () => {
    const account = await freeAccount();
    const before = await Promise.all(urls.map(reservations));
    const { tally, done } = hammer(urls, 50, account);
    await done;
    expect(tally.admitted).toBe(1000);
    expect(tally.refusals).toEqual({ QUOTA_EXCEEDED: 200 });
    // What Redis counted, and what every process says, is the quota: no lease keeps units.
    expect((await ask(urls[3], account.key, '{ rateLimit { used remaining } }')).body.data.rateLimit).toEqual({ used: 1000, remaining: 0 });
    const after = await Promise.all(urls.map(reservations));
    const lease = after.reduce((sum, r, i) => sum + r.lease - before[i].lease, 0);
    const roundTrips = after.reduce((sum, r, i) => sum + r.redis - before[i].redis, 0);
    expect(lease + roundTrips).toBeGreaterThanOrEqual(1200);
    expect(lease).toBeGreaterThan(roundTrips);
    // The usage ledger agrees: every admitted request billed once.
    const rows = await a.services.db.sql.query<{ n: string }>('SELECT count(*) AS n FROM usage_records WHERE account_id = $1', [account.accountId]);
    expect(Number(rows[0].n)).toBe(1000);
  });

  it('recalls what other processes hold before refusing, so a lease elsewhere never causes an early refusal', async () => {
    const account = await freeAccount();
    await a.services.accounts.setOverrides(account.accountId, { burstPerSecond: 100_000, dailyQuota: 300 }, SYSTEM);
    // Process A builds up a lease with units to spare and keeps using it...
    let onA = 0;
    for (let i = 0; i < 30; i++) if ((await ask(a.url, account.key, OWN_ACCOUNT, { a: account.accountId })).status === 200) onA++;
    const held = await holders(account.accountId);
    expect(Number(Object.values(held)[0]?.split(':')[0])).toBeGreaterThan(0);
    let othersDone = false;
    let onAAfterOthers = 0;
    const trickle = (async () => {
      for (;;) {
        const sentAfterOthers = othersDone;
        if ((await ask(a.url, account.key, OWN_ACCOUNT, { a: account.accountId })).status !== 200) return;
        onA++;
        if (sentAfterOthers) onAAfterOthers++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    // ...while the other three spend the rest: they are refused only when nothing is left anywhere,
    // so A has nothing left either (without the recall, A would still be admitting from its lease).
    const others = hammer(urls.slice(1), 20, account);
    await others.done;
    othersDone = true;
    await trickle;
    expect(onAAfterOthers).toBe(0);
    expect(onA + others.tally.admitted).toBe(300);
    expect(others.tally.refusals).toEqual({ QUOTA_EXCEEDED: 60 });
    expect(await holders(account.accountId)).toEqual({});
  });

  it('applies a plan upgrade and a revocation on all 4 processes by broadcast, long before any cache expires', async () => {
    const account = await a.newKey({ plan: 'FREE' });
    const limitOn = async (url: string) => (await ask(url, account.key, '{ rateLimit { limit } }')).body.data?.rateLimit.limit;
    for (const url of urls) {
      expect(await limitOn(url)).toBe(1000); // cached and leased on every process
      expect((await ask(url, account.key, OWN_ACCOUNT, { a: account.accountId })).status).toBe(200);
    }
    let started = Date.now();
    await a.services.accounts.setPlan(account.accountId, 'PROFESSIONAL', SYSTEM);
    for (const url of urls) await waitFor(`the upgrade on ${url}`, async () => (await limitOn(url)) === 1_000_000, BROADCAST_DEADLINE_MS, 10);
    expect(Date.now() - started).toBeLessThan(BROADCAST_DEADLINE_MS);
    const upgraded = await ask(urls[2], account.key, OWN_ACCOUNT, { a: account.accountId });
    expect(upgraded.body.extensions.cost.quota.limit).toBe(1_000_000);

    started = Date.now();
    await a.services.keys.revoke(account.keyId, SYSTEM);
    for (const url of urls)
      await waitFor(
        `the revocation on ${url}`,
        async () => (await ask(url, account.key, OWN_ACCOUNT, { a: account.accountId })).status === 401,
        BROADCAST_DEADLINE_MS,
        10,
      );
    expect(Date.now() - started).toBeLessThan(BROADCAST_DEADLINE_MS);
  });

  it('gives unspent units back at a graceful shutdown', async () => {
    const account = await freeAccount();
    let stopping = false;
    const onLeaving = hammer([children[1].url], 10, account, () => stopping);
    await waitFor(
      'a lease on the leaving process',
      async () => Object.keys(await holders(account.accountId)).length > 0 && onLeaving.tally.admitted > 100,
      10_000,
      5,
    );
    stopping = true;
    await onLeaving.done;
    await children[1].stop('SIGTERM');
    const rest = hammer([a.url, children[0].url], 20, account);
    await rest.done;
    expect(onLeaving.tally.admitted + rest.tally.admitted).toBe(1000);
  });

  it('loses at most the unspent part of its lease when a process is killed with -9', async () => {
    const account = await freeAccount();
    const victim = children[2];
    const onVictim = hammer([victim.url], 10, account);
    await waitFor('load on the victim', async () => onVictim.tally.admitted > 200, 10_000, 5);
    victim.child.kill('SIGKILL');
    await victim.exited;
    await onVictim.done;
    // What the victim held when it died, as Redis recorded it (an upper bound of what it had not spent).
    const held = await holders(account.accountId);
    const victimHeld = Object.entries(held)
      .filter(([holder]) => holder.startsWith(`${victim.child.pid}-`))
      .reduce((sum, [, value]) => sum + Number(value.split(':')[0]), 0);

    const rest = hammer([a.url, children[0].url], 20, account);
    await rest.done;
    const admitted = onVictim.tally.admitted + rest.tally.admitted;
    expect(victimHeld).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(1000); // nothing over-admitted, ever
    // Lost: the lease's unspent units, and at most one unit for each of the 10 requests the kill cut off
    // (admitted, so spent, but their answers never reached the clients).
    expect(1000 - admitted).toBeLessThanOrEqual(victimHeld + 10);
    expect(rest.tally.refusals).toEqual({ QUOTA_EXCEEDED: 40 });
    // A dead holder does not hold refusals up: once its lease is over (plus the grace), the next
    // refusal drops it from the holders, so later refusals no longer recall it and wait.
    const victimHolds = async () => Object.keys(await holders(account.accountId)).some((holder) => holder.startsWith(`${victim.child.pid}-`));
    await waitFor(
      'Redis to drop the dead holder',
      async () => (await ask(a.url, account.key, OWN_ACCOUNT, { a: account.accountId })).code === 'QUOTA_EXCEEDED' && !(await victimHolds()),
      15_000,
      200,
    );
  });
});
