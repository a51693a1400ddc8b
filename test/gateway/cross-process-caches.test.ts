import { startTestGateway, type TestGateway } from '../support/harness';
import { graphql, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';

/**
 * The in-process caches (plans, keys) of two gateway processes on the same Postgres and Redis:
 * B is this one (the test harness, whose clock the fallback test moves), A a child process
 * running the built gateway. A change made in one reaches the other through the pub/sub
 * broadcast; when the broadcast is lost, a cached key lives no longer than the cache's 30 s TTL
 * (src/cache/invalidating-cache.ts).
 */

const ME = '{ me { account { id } } }';

describe('caches across two gateway processes', () => {
  let b: TestGateway;
  let a: RunningProcess;
  let admin: string;

  beforeAll(async () => {
    b = await startTestGateway();
    // On FREE, which no test here edits (the tests below change PROFESSIONAL and ENTERPRISE).
    admin = (await b.newKey({ role: 'ADMIN', plan: 'FREE' })).key;
    a = await startGatewayProcess({ ...b.env, LOG_LEVEL: 'warn' });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  const onA = (query: string, key: string, variables?: Record<string, unknown>) =>
    graphql(a.url, query, { headers: { authorization: `Bearer ${key}` }, variables });
  const onB = (query: string, key: string, variables?: Record<string, unknown>) => b.query(query, { key, variables });
  const depthRefusal = (body: { errors?: any[] }) =>
    body.errors?.find((error) => error.extensions?.code === 'QUERY_TOO_COMPLEX')?.message as string | undefined;

  it('updatePlan on process A: process B enforces the new limit within moments', async () => {
    const { key } = await b.newKey({ plan: 'PROFESSIONAL' });
    // B has the plan cached (60 s TTL) and admits the query.
    const before = await onB(ME, key);
    expect(before.body.errors).toBeUndefined();
    expect((await onB('{ me { limits { maxDepth } } }', key)).body.data.me.limits.maxDepth).toBe(12);

    const updated = await onA('mutation { updatePlan(code: PROFESSIONAL, input: { maxDepth: 2 }) { code maxDepth } }', admin);
    expect(updated.body.errors).toBeUndefined();
    expect(updated.body.data).toEqual({ updatePlan: { code: 'PROFESSIONAL', maxDepth: 2 } });

    const started = Date.now();
    await waitFor('process B to refuse a query deeper than the new maxDepth', async () => depthRefusal((await onB(ME, key)).body) !== undefined, 5000, 25);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(depthRefusal((await onB(ME, key)).body)).toMatch(/exceeds the maximum of 2\.$/);
  });

  it('updatePlan on process B: process A enforces the new limit within moments', async () => {
    const { key } = await b.newKey({ plan: 'ENTERPRISE' });
    expect((await onA(ME, key)).body.errors).toBeUndefined(); // A has the plan cached

    const updated = await onB('mutation { updatePlan(code: ENTERPRISE, input: { maxDepth: 2 }) { maxDepth } }', admin);
    expect(updated.body.errors).toBeUndefined();
    expect(updated.body.data).toEqual({ updatePlan: { maxDepth: 2 } });

    await waitFor('process A to refuse a query deeper than the new maxDepth', async () => depthRefusal((await onA(ME, key)).body) !== undefined, 5000, 25);
    expect(depthRefusal((await onA(ME, key)).body)).toMatch(/exceeds the maximum of 2\.$/);
  });

  it('a key revoked on A is refused by B at once; with the broadcast lost, within the cache’s 30 s', async () => {
    // Broadcast delivered: refused by B within moments (and by A at once).
    const first = await b.newKey({ plan: 'FREE' });
    expect((await onB(ME, first.key)).status).toBe(200);
    const revoked = await onA('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', admin, { id: first.keyId });
    expect(revoked.body.data.revokeApiKey.revokedAt).toEqual(expect.any(String));
    expect((await onA(ME, first.key)).status).toBe(401);
    await waitFor('process B to refuse the revoked key', async () => (await onB(ME, first.key)).status === 401, 5000, 25);

    // Broadcast lost: B's subscriber is gone (closed, so no reconnect and no flush), B has the key cached.
    const second = await b.newKey({ plan: 'FREE' });
    expect((await onB(ME, second.key)).status).toBe(200);
    await b.services.pubsub.close();
    const revokedToo = await onA('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', admin, { id: second.keyId });
    expect(revokedToo.body.data.revokeApiKey.revokedAt).toEqual(expect.any(String));
    expect((await onA(ME, second.key)).status).toBe(401);
    // B never heard: its cached row still admits the key (what the TTL is there to bound).
    expect((await onB(ME, second.key)).status).toBe(200);

    // 30 s later on B's clock (its cache reads Date.now), the cached row has expired: refused.
    const realNow = Date.now.bind(Date);
    const shift = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 30_000);
    try {
      expect((await onB(ME, second.key)).status).toBe(401);
    } finally {
      shift.mockRestore();
    }
  });
});
