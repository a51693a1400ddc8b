import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createThrowawayDatabase, serviceUrl, type ThrowawayDatabase } from '../support/throwaway-database';

const run = promisify(execFile);
const BIN = join(__dirname, '..', '..', 'bin', 'tollgraph.js');

describe('tollgraph CLI for scripts and bootstrap', () => {
  let database: ThrowawayDatabase;
  const env = () => ({ ...process.env, DATABASE_URL: database.url, REDIS_URL: serviceUrl('REDIS_URL'), REDIS_KEY_PREFIX: `tg-cli-${process.pid}:` });
  const tollgraph = async (...args: string[]) => (await run(process.execPath, [BIN, ...args], { env: env() })).stdout;
  const json = async (...args: string[]) => JSON.parse(await tollgraph(...args, '--json'));

  beforeAll(async () => {
    database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
  });
  afterAll(() => database?.drop());

  it('bootstraps a fresh database: plans, an account, keys created, listed and revoked', async () => {
    const plans = await json('plans', 'list');
    expect(plans.map((plan: { code: string; dailyQuota: number }) => [plan.code, plan.dailyQuota])).toEqual([
      ['FREE', 1000],
      ['PROFESSIONAL', 1_000_000],
      ['ENTERPRISE', 50_000_000],
    ]);

    const account = await json('accounts', 'create', '--name', 'Ops', '--email', 'ops@example.com', '--plan', 'enterprise');
    expect(account).toMatchObject({ name: 'Ops', email: 'ops@example.com', planCode: 'ENTERPRISE' });

    const created = await json('keys', 'create', '--account', account.id, '--role', 'ADMIN', '--name', 'bootstrap');
    expect(created.key).toMatch(/^tg_test_[0-9A-Za-z]{32}$/);
    expect(created.apiKey).toMatchObject({ role: 'ADMIN', name: 'bootstrap', revokedAt: null });
    expect(created.apiKey.hash).toBeUndefined();

    const human = await tollgraph('keys', 'list', '--account', account.id);
    expect(human).toMatch(/^id\s+prefix\s+name\s+role/);
    expect(human).toContain(created.apiKey.prefix);
    expect(human).not.toContain(created.key);

    const revoked = await json('keys', 'revoke', created.apiKey.id);
    expect(revoked.revokedAt).toEqual(expect.any(String));
    expect((await json('keys', 'list', '--account', account.id))[0].revokedAt).toEqual(revoked.revokedAt);
  }, 180_000); // nine commands, each a process that opens the database: over a minute on a loaded machine

  it('migrates a database, prints the schema the repository keeps, checks the configuration and lists accounts', async () => {
    const fresh = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
    try {
      const migrate = async () => (await run(process.execPath, [BIN, 'db', 'migrate'], { env: { ...env(), DATABASE_URL: fresh.url } })).stdout;
      const migrations = readdirSync(join(__dirname, '..', '..', 'prisma', 'migrations'))
        .filter((name) => /^\d+_/.test(name))
        .sort();
      expect(await migrate()).toBe(`applied: ${migrations.join(', ')}\n`);
      expect(await migrate()).toBe('database is up to date\n');
    } finally {
      await fresh.drop();
    }
    expect(await tollgraph('schema', 'print')).toBe(readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));
    expect(await tollgraph('config', 'check')).toBe('configuration is valid\n');
    const created = await json('accounts', 'create', '--name', 'Lister', '--email', 'lister@example.com');
    const listed = await json('accounts', 'list');
    expect(listed.find((account: { id: string }) => account.id === created.id)).toMatchObject({
      name: 'Lister',
      email: 'lister@example.com',
      planCode: 'FREE',
    });
    // No traffic in that month: no credits; a month not over yet is refused.
    expect(await json('billing', 'sla-credits', '--month', '2026-10')).toEqual([]);
    await expect(tollgraph('billing', 'sla-credits', '--month', '2999-01')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('2999-01 is not over yet'),
    });
  }, 180_000);

  it('fails with a clear message and exit code on bad input', async () => {
    await expect(tollgraph('accounts', 'create', '--name', 'X', '--email', 'bad')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('email must be an email address'),
    });
    await expect(tollgraph('accounts', 'create', '--name', 'X', '--email', 'x@example.com', '--plan', 'gold')).rejects.toMatchObject({
      stderr: expect.stringContaining('--plan must be one of FREE, PROFESSIONAL, ENTERPRISE'),
    });
    await expect(tollgraph('keys', 'revoke', 'no-such-key')).rejects.toMatchObject({ stderr: expect.stringContaining('no API key with id no-such-key') });
    // Not a uuid: named as no account, not the database's refusal of the id.
    await expect(tollgraph('keys', 'list', '--account', 'no-such-account')).rejects.toMatchObject({
      code: 1,
      stderr: 'tollgraph: no account with id no-such-account\n',
    });
    await expect(tollgraph('keys', 'create', '--account', randomUUID(), '--role', 'owner')).rejects.toMatchObject({
      stderr: expect.stringContaining('--role must be SUBSCRIBER, ADMIN or PUBLISHER (got owner)'),
    });
  });

  it('creates a PUBLISHER key for its domains, and refuses one without them', async () => {
    const account = await json('accounts', 'create', '--name', 'Risk team', '--email', 'risk-team@example.com');
    const created = await json('keys', 'create', '--account', account.id, '--role', 'publisher', '--domains', 'risk, payments');
    expect(created.apiKey).toMatchObject({ role: 'PUBLISHER', domains: ['payments', 'risk'] });
    expect(await tollgraph('keys', 'list', '--account', account.id)).toMatch(/PUBLISHER\s+payments,risk/);
    await expect(tollgraph('keys', 'create', '--account', account.id, '--role', 'PUBLISHER')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('a PUBLISHER key needs 1-20 domains'),
    });
  });
});
