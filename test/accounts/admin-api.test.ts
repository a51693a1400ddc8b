import { startTestGateway, type TestGateway } from '../support/harness';

describe('admin API, tenant isolation and bad input', () => {
  let gateway: TestGateway;
  let admin: { accountId: string; keyId: string; key: string };
  let alice: { accountId: string; keyId: string; key: string };
  let bob: { accountId: string; keyId: string; key: string };

  beforeAll(async () => {
    gateway = await startTestGateway();
    admin = await gateway.newKey({ role: 'ADMIN', plan: 'ENTERPRISE' });
    alice = await gateway.newKey({ plan: 'FREE' });
    // FREE's burst (10 units/s) is not under test here; these tests fire requests back to back.
    await gateway.services.accounts.setOverrides(alice.accountId, { burstPerSecond: 1000 }, { type: 'system:test' });
    bob = await gateway.newKey({ plan: 'PROFESSIONAL' });
  });
  afterAll(() => gateway?.stop());

  const prisma = () => gateway.services.db.prisma;
  const CREATE = `mutation($input: CreateAccountInput!) { createAccount(input: $input) { id name email planCode } }`;

  it('refuses a subscriber key on an admin mutation with 403 before anything runs', async () => {
    const before = await prisma().account.count();
    const { status, body } = await gateway.query(CREATE, { key: alice.key, variables: { input: { name: 'Mallory', email: 'mallory@example.com' } } });
    expect(status).toBe(403);
    expect(body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect(body.errors?.[0].message).toMatch(/ADMIN/);
    expect(body.data).toBeUndefined();
    expect(await prisma().account.count()).toBe(before);
  });

  it('lets an admin key create an account, and audits who, what, when, before and after', async () => {
    const { status, body } = await gateway.query(CREATE, {
      key: admin.key,
      variables: { input: { name: ' Acme Bank ', email: 'Risk@Acme.example', planCode: 'PROFESSIONAL' } },
    });
    expect(status).toBe(200);
    const account = body.data.createAccount;
    expect(account).toMatchObject({ name: 'Acme Bank', email: 'risk@acme.example', planCode: 'PROFESSIONAL' });

    const changed = await gateway.query(`mutation($id: ID!) { setAccountPlan(accountId: $id, planCode: ENTERPRISE) { planCode } }`, {
      key: admin.key,
      variables: { id: account.id },
    });
    expect(changed.body.data.setAccountPlan.planCode).toBe('ENTERPRISE');

    const log = await gateway.query(`{ auditLog(first: 10) { nodes { action targetId actorKeyId actorAccountId requestId before after at } } }`, {
      key: admin.key,
    });
    const entries = log.body.data.auditLog.nodes.filter((entry: { targetId: string }) => entry.targetId === account.id);
    expect(entries.map((entry: { action: string }) => entry.action)).toEqual(['account.setPlan', 'account.create']);
    const [setPlan, create] = entries;
    expect(create).toMatchObject({
      actorKeyId: admin.keyId,
      actorAccountId: admin.accountId,
      before: null,
      after: expect.objectContaining({ email: 'risk@acme.example' }),
    });
    expect(setPlan).toMatchObject({
      before: expect.objectContaining({ planCode: 'PROFESSIONAL' }),
      after: expect.objectContaining({ planCode: 'ENTERPRISE' }),
      requestId: expect.any(String),
    });
    expect(Date.parse(setPlan.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('shows a subscriber only its own account; other accounts and keys are simply not there', async () => {
    const own = await gateway.query(`query($id: ID!) { account(id: $id) { id apiKeys { id } } }`, { key: alice.key, variables: { id: alice.accountId } });
    expect(own.body.data.account.apiKeys.map((key: { id: string }) => key.id)).toEqual([alice.keyId]);

    const other = await gateway.query(`query($id: ID!) { account(id: $id) { id name email apiKeys { id } } }`, {
      key: alice.key,
      variables: { id: bob.accountId },
    });
    expect(other.status).toBe(200);
    expect(other.body.data).toEqual({ account: null });
    expect(other.body.errors).toBeUndefined();

    // Revoking or minting keys of another account: "not found", exactly as for an id that does not exist.
    const revoke = (id: string) => gateway.query(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { key: alice.key, variables: { id } });
    const foreign = await revoke(bob.keyId);
    const missing = await revoke('01900000-0000-7000-8000-000000000000');
    expect(foreign.body.errors?.[0].message).toBe('API key not found');
    // (extensions.cost differs between any two requests: the burst bucket moves)
    const shape = ({ data, errors }: { data?: unknown; errors?: Array<{ message: string; extensions: unknown }> }) => ({
      data,
      errors: errors?.map(({ message, extensions }) => ({ message, extensions })),
    });
    expect(shape(foreign.body)).toEqual(shape(missing.body));
    const mint = await gateway.query(`mutation($a: ID!) { createApiKey(accountId: $a) { key } }`, { key: alice.key, variables: { a: bob.accountId } });
    expect(mint.body.errors?.[0].message).toBe('account not found');
    expect((await gateway.query('{ me { account { id } } }', { key: bob.key })).status).toBe(200);

    // Listing every account is an admin operation.
    expect((await gateway.query('{ accounts { nodes { id } } }', { key: alice.key })).status).toBe(403);
  });

  it('lets a subscriber manage its own SUBSCRIBER keys but not mint ADMIN keys', async () => {
    const created = await gateway.query(`mutation($a: ID!) { createApiKey(accountId: $a, name: "laptop") { key apiKey { id role } } }`, {
      key: alice.key,
      variables: { a: alice.accountId },
    });
    expect(created.body.data.createApiKey.apiKey.role).toBe('SUBSCRIBER');
    const escalate = await gateway.query(`mutation($a: ID!) { createApiKey(accountId: $a, role: ADMIN) { key } }`, {
      key: alice.key,
      variables: { a: alice.accountId },
    });
    expect(escalate.status).toBe(403);
    const revoke = await gateway.query(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, {
      key: alice.key,
      variables: { id: created.body.data.createApiKey.apiKey.id },
    });
    expect(revoke.body.data.revokeApiKey.revokedAt).toEqual(expect.any(String));
  });

  it('answers bad input with BAD_USER_INPUT naming the problem, and writes nothing', async () => {
    const accounts = await prisma().account.count();
    const audit = await prisma().auditLog.count();
    const attempt = (input: Record<string, unknown>) => gateway.query(CREATE, { key: admin.key, variables: { input } });

    const badEmail = await attempt({ name: 'X', email: 'not-an-email' });
    expect(badEmail.status).toBe(400);
    expect(badEmail.body.errors?.[0]).toMatchObject({ message: 'email must be an email address', extensions: { code: 'BAD_USER_INPUT', fields: ['email'] } });

    const tooLong = await attempt({ name: 'x'.repeat(201), email: 'long@example.com' });
    expect(tooLong.body.errors?.[0].message).toBe('name must be at most 200 characters');

    const duplicate = await attempt({ name: 'Again', email: 'risk@acme.example' });
    expect(duplicate.body.errors?.[0]).toMatchObject({
      message: 'an account with email risk@acme.example already exists',
      extensions: { code: 'BAD_USER_INPUT' },
    });

    // Refused by the PlanCode enum before execution: a GraphQL request error, 200 for application/json.
    const unknownPlan = await attempt({ name: 'Y', email: 'y@example.com', planCode: 'PLATINUM' });
    expect(unknownPlan.status).toBe(200);
    expect(unknownPlan.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(unknownPlan.body.errors?.[0].message).toMatch(/PLATINUM/);

    const badOverride = await gateway.query(`mutation($id: ID!) { setAccountOverrides(accountId: $id, input: { dailyQuota: -5 }) { id } }`, {
      key: admin.key,
      variables: { id: alice.accountId },
    });
    expect(badOverride.body.errors?.[0]).toMatchObject({ message: 'limits must be positive', extensions: { code: 'BAD_USER_INPUT' } });
    const badGrant = await gateway.query(`mutation { updatePlan(code: FREE, input: { grants: ["risk.everything"] }) { code } }`, { key: admin.key });
    expect(badGrant.body.errors?.[0].message).toMatch(/^grants must be among risk\.band/);

    expect(await prisma().account.count()).toBe(accounts);
    expect(await prisma().auditLog.count()).toBe(audit);
  });

  it('applies overrides and plan edits to the account’s limits at once', async () => {
    const limits = async () => (await gateway.query('{ me { limits { dailyQuota burstPerSecond } plan { code dailyQuota } } }', { key: bob.key })).body.data.me;
    expect(await limits()).toEqual({ limits: { dailyQuota: 1_000_000, burstPerSecond: 500 }, plan: { code: 'PROFESSIONAL', dailyQuota: 1_000_000 } });
    await gateway.query(`mutation($id: ID!) { setAccountOverrides(accountId: $id, input: { dailyQuota: 5000 }) { id } }`, {
      key: admin.key,
      variables: { id: bob.accountId },
    });
    await gateway.query(`mutation { updatePlan(code: PROFESSIONAL, input: { burstPerSecond: 750 }) { code } }`, { key: admin.key });
    expect(await limits()).toEqual({ limits: { dailyQuota: 5000, burstPerSecond: 750 }, plan: { code: 'PROFESSIONAL', dailyQuota: 1_000_000 } });
  });
});
