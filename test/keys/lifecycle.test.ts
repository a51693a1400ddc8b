import { Agent, request } from 'node:http';
import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';

const ME = '{ me { account { id } key { id prefix } } }';

describe('API key lifecycle against real Postgres and Redis', () => {
  let gateway: TestGateway;
  let second: RunningProcess;
  let admin: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    admin = (await gateway.newKey({ role: 'ADMIN', plan: 'ENTERPRISE' })).key;
    // A second gateway process on the same database and Redis, logging everything it can.
    second = await startGatewayProcess({ ...gateway.env, LOG_LEVEL: 'trace' });
  });

  afterAll(async () => {
    await second?.stop();
    await gateway?.stop();
  });

  it('creates a key whose secret is returned once, stored only as a hash, and never logged', async () => {
    const { accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const created = await gateway.query(`mutation($a: ID!) { createApiKey(accountId: $a, name: "ci") { key apiKey { id prefix role createdAt } } }`, {
      key: admin,
      variables: { a: accountId },
    });
    expect(created.status).toBe(200);
    const { key: secret, apiKey } = created.body.data.createApiKey;
    expect(secret).toMatch(/^tg_test_[0-9A-Za-z]{32}$/);
    expect(secret.startsWith(apiKey.prefix)).toBe(true);

    // Usable at once, on both processes, with either header.
    expect((await gateway.query(ME, { key: secret })).body.data.me.key.id).toBe(apiKey.id);
    const viaSecond = await fetch(`${second.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': secret },
      body: JSON.stringify({ query: ME }),
    });
    expect(((await viaSecond.json()) as any).data.me.key.id).toBe(apiKey.id);

    // Nowhere to be read again: not in the listing, not in the database, not in the audit log, not in the logs.
    const listing = await gateway.query(`query($a: ID!) { account(id: $a) { apiKeys { id prefix name role } } }`, { key: admin, variables: { a: accountId } });
    expect(JSON.stringify(listing.body)).not.toContain(secret);
    const rows = await gateway.services.db.prisma.$queryRawUnsafe<Array<{ row: string }>>(
      `SELECT row_to_json(k)::text AS row FROM api_keys k UNION ALL SELECT row_to_json(a)::text FROM audit_log a`,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const { row } of rows) expect(row).not.toContain(secret.slice('tg_test_'.length));
    expect(second.output()).toContain('"x-api-key":"[redacted]"'); // the second process logged the request...
    expect(second.output()).not.toContain(secret.slice('tg_test_'.length)); // ...but never the secret
  });

  it('revokes a key: refused at once here and within 5 s on the second process', async () => {
    const { keyId, key } = await gateway.newKey();
    const onSecond = () =>
      fetch(`${second.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: ME }),
      });
    expect((await onSecond()).status).toBe(200); // now cached on the second process

    const revoked = await gateway.query(`mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`, { key: admin, variables: { id: keyId } });
    expect(revoked.body.data.revokeApiKey.revokedAt).toEqual(expect.any(String));
    expect((await gateway.query(ME, { key })).status).toBe(401);

    const started = Date.now();
    await waitFor('the second process to refuse the revoked key', async () => (await onSecond()).status === 401, 5000, 25);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('verifies every key a keep-alive connection sends: another key, a malformed one, a revoked one', async () => {
    const first = await gateway.newKey();
    const other = await gateway.newKey();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // One connection for every request (the gateway keeps a connection's last key and its hash).
    const ask = (key: string) =>
      new Promise<{ status: number; keyId?: string; reused: boolean }>((resolve, reject) => {
        const req = request(`${gateway.url}/graphql`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-api-key': key } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, keyId: JSON.parse(body).data?.me.key.id, reused: req.reusedSocket }));
        });
        req.on('error', reject).end(JSON.stringify({ query: ME }));
      });
    try {
      expect(await ask(first.key)).toEqual({ status: 200, keyId: first.keyId, reused: false });
      expect(await ask(other.key)).toEqual({ status: 200, keyId: other.keyId, reused: true });
      expect(await ask(first.key)).toEqual({ status: 200, keyId: first.keyId, reused: true });
      expect(await ask(`${first.key}x`)).toMatchObject({ status: 401, reused: true });
      await gateway.services.keys.revoke(first.keyId, { type: 'cli' });
      expect(await ask(first.key)).toMatchObject({ status: 401, reused: true });
      expect(await ask(other.key)).toEqual({ status: 200, keyId: other.keyId, reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('answers missing, malformed, unknown, revoked and expired keys with the same 401 body', async () => {
    const revoked = await gateway.newKey();
    await gateway.services.keys.revoke(revoked.keyId, { type: 'system:test' });
    const owner = await gateway.newKey();
    const system = { type: 'system:test' } as const;
    // Expired a second ago: refused over HTTP below, and refused for being expired (not unknown or revoked).
    const { secret: expired } = await gateway.services.keys.create(
      { accountId: owner.accountId, name: 'expired', role: 'SUBSCRIBER', expiresAt: new Date(Date.now() - 1000) },
      system,
    );
    expect(await gateway.services.keys.verify(expired)).toEqual({ valid: false, reason: 'EXPIRED' });
    // A key that works until its expiry, then stops, even though this process has its row cached (the
    // cache keeps rows 30 s; this one expires in 20 s). No waiting: the check is asked at the expiry
    // instant on a stopped clock.
    const expiresAt = new Date(Date.now() + 20_000);
    const { secret: expiring } = await gateway.services.keys.create({ accountId: owner.accountId, name: 'short-lived', role: 'SUBSCRIBER', expiresAt }, system);
    expect((await gateway.query(ME, { key: expiring })).status).toBe(200);
    const clock = jest.spyOn(Date, 'now');
    try {
      clock.mockReturnValue(expiresAt.getTime() - 1);
      expect(await gateway.services.keys.verify(expiring)).toMatchObject({ valid: true });
      clock.mockReturnValue(expiresAt.getTime());
      expect(await gateway.services.keys.verify(expiring)).toEqual({ valid: false, reason: 'EXPIRED' });
    } finally {
      clock.mockRestore();
    }

    const answers = await Promise.all(
      [undefined, 'not-a-key', `tg_test_${'A'.repeat(32)}`, revoked.key, expired].map(async (key) => {
        const { status, body, headers } = await gateway.query(ME, { key });
        return { status, body, wwwAuthenticate: headers.get('www-authenticate') };
      }),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0].status).toBe(401);
    expect(answers[0].body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(answers[0].wwwAuthenticate).toMatch(/^Bearer/);
  });

  it('records last use in the background, not per request', async () => {
    const { keyId, key } = await gateway.newKey();
    for (let i = 0; i < 5; i++) expect((await gateway.query(ME, { key })).status).toBe(200);
    const before = await gateway.services.db.prisma.apiKey.findUniqueOrThrow({ where: { id: keyId } });
    expect(before.lastUsedAt).toBeNull();
    await gateway.services.keys.flushLastUsed();
    const after = await gateway.services.db.prisma.apiKey.findUniqueOrThrow({ where: { id: keyId } });
    expect(after.lastUsedAt).toEqual(expect.any(Date));
  });
});
