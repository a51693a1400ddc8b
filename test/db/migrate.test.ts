import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database, type PrismaClient } from '../../src/db/client';
import { applyMigrations, resolveMigration } from '../../src/db/migrate';
import { migrationsDirectory } from '../../src/db/paths';
import { createPGlite } from '../../src/db/pglite';
import { pingPostgres } from '../../src/db/postgres';
import { createThrowawayDatabase, serviceUrl, type ThrowawayDatabase } from '../support/throwaway-database';

/** Every migration folder of the project, in order: what a fresh database must receive. */
const ALL_MIGRATIONS = readdirSync(migrationsDirectory(), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const EXPECTED_TABLES = [
  '_prisma_migrations',
  'accounts',
  'api_keys',
  'archive_segments',
  'audit_log',
  'consumer_checkpoints',
  'data_products',
  'invoice_lines',
  'latest_risk_scores',
  'meter_reports',
  'plans',
  'product_add_ons',
  'quota_alerts',
  'registry_schemas',
  'registry_subjects',
  'registry_versions',
  'risk_scores',
  'risk_state_chunks',
  'settings',
  'sla_credits',
  'sla_flushes',
  'sla_hours',
  'stripe_events',
  'subscriptions',
  'usage_records',
  'usage_rollup_marks',
  'usage_rollups',
];

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgraph-db-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

async function tables(prisma: PrismaClient): Promise<string[]> {
  const rows = await prisma.$queryRaw<Array<{ table_name: string }>>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`;
  return rows.map((row) => row.table_name);
}

async function appliedRows(prisma: PrismaClient): Promise<Array<{ migration_name: string; finished: boolean }>> {
  return prisma.$queryRaw`
    SELECT migration_name, finished_at IS NOT NULL AS finished
    FROM _prisma_migrations WHERE rolled_back_at IS NULL ORDER BY migration_name`;
}

async function seedFreePlan(prisma: PrismaClient): Promise<void> {
  await prisma.plan.createMany({
    data: [
      {
        code: 'FREE',
        name: 'Free',
        monthlyPriceCents: 0,
        dailyQuota: 1000,
        burstPerSecond: 10,
        maxQueryCost: 100,
        maxDepth: 8,
        features: ['Risk band'],
        entitlements: { grants: ['risk.band'] },
      },
    ],
    skipDuplicates: true,
  });
}

/**
 * What the later issues rely on from the client and the driver adapter, identical on both
 * databases: unique violations as P2002, rollback of interactive transactions, idempotent
 * ledger inserts, BigInt offsets, decimals, JSON, enums, exact timestamps.
 */
async function exerciseClient(prisma: PrismaClient): Promise<void> {
  await seedFreePlan(prisma);
  const account = await prisma.account.create({ data: { name: 'Acme', email: 'ops@acme.test' } });
  expect(account.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/); // UUIDv7
  expect(account.planCode).toBe('FREE');
  expect(account.dailyQuota).toBeNull();

  await expect(prisma.account.create({ data: { name: 'Copy', email: 'ops@acme.test' } })).rejects.toMatchObject({ code: 'P2002' });
  await expect(prisma.account.create({ data: { name: 'No plan', email: 'x@acme.test', planCode: 'ENTERPRISE' } })).rejects.toMatchObject({
    code: 'P2003',
  });

  await expect(
    prisma.$transaction(async (tx) => {
      await tx.account.create({ data: { name: 'Rolled back', email: 'rollback@acme.test' } });
      throw new Error('abort the transaction');
    }),
  ).rejects.toThrow('abort the transaction');
  expect(await prisma.account.count({ where: { email: 'rollback@acme.test' } })).toBe(0);

  const occurredAt = new Date('2026-11-24T10:15:00.123Z');
  const record = { accountId: account.id, planCode: 'FREE' as const, operation: 'riskScore', costUnits: 1, occurredAt };
  const first = await prisma.usageRecord.createMany({
    data: [
      { ...record, requestId: 'req-1' },
      { ...record, requestId: 'req-2' },
    ],
    skipDuplicates: true,
  });
  expect(first.count).toBe(2);
  const retry = await prisma.usageRecord.createMany({ data: [{ ...record, requestId: 'req-1' }], skipDuplicates: true });
  expect(retry.count).toBe(0);
  const stored = await prisma.usageRecord.findUniqueOrThrow({ where: { requestId: 'req-1' } });
  expect(stored.occurredAt.toISOString()).toBe(occurredAt.toISOString());
  expect(stored.meter).toBe('api_cost_units');

  const offset = 9_007_199_254_740_993n; // above Number.MAX_SAFE_INTEGER
  await prisma.consumerCheckpoint.create({ data: { groupId: 'risk', topic: 'transactions', partition: 3, nextOffset: offset } });
  // Compare-and-set, as the pipeline advances its position.
  const moved = await prisma.consumerCheckpoint.updateMany({
    where: { groupId: 'risk', topic: 'transactions', partition: 3, nextOffset: offset },
    data: { nextOffset: offset + 10n },
  });
  expect(moved.count).toBe(1);
  const checkpoint = await prisma.consumerCheckpoint.findUniqueOrThrow({
    where: { groupId_topic_partition: { groupId: 'risk', topic: 'transactions', partition: 3 } },
  });
  expect(checkpoint.nextOffset).toBe(offset + 10n);

  const eventTime = new Date('2026-11-24T10:15:00.000Z');
  await prisma.riskScore.create({
    data: {
      eventId: '0b7c3a52-4a0e-4f7e-9b8e-0d1d2c3b4a59',
      customerId: 'c-123',
      score: 912,
      band: 'CRITICAL',
      factors: [{ code: 'velocity_1m', contribution: 420 }],
      modelVersion: 'risk-v1',
      eventTime,
      computedAt: new Date(),
      amount: '129.90',
      currency: 'EUR',
      country: 'DE',
      channel: 'ECOMMERCE',
      offset: 42n,
    },
  });
  const score = await prisma.riskScore.findUniqueOrThrow({ where: { eventId: '0b7c3a52-4a0e-4f7e-9b8e-0d1d2c3b4a59' } });
  expect(score.amount?.toFixed(2)).toBe('129.90');
  expect(score.eventTime.toISOString()).toBe(eventTime.toISOString());
  expect(score.factors).toEqual([{ code: 'velocity_1m', contribution: 420 }]);
  expect(score.offset).toBe(42n);

  const plan = await prisma.plan.findUniqueOrThrow({ where: { code: 'FREE' } });
  expect(plan.features).toEqual(['Risk band']);
  expect(plan.entitlements).toEqual({ grants: ['risk.band'] });

  const [index] = await prisma.$queryRaw<Array<{ indexdef: string }>>`
    SELECT indexdef FROM pg_indexes WHERE indexname = 'usage_records_unreported_idx'`;
  expect(index?.indexdef).toContain('WHERE (meter_report_id IS NULL)');
}

test('schema.prisma and the migration history agree (else: node scripts/migration-diff.mjs <name>)', async () => {
  const script = join(__dirname, '..', '..', 'scripts', 'migration-diff.mjs');
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [script, '--check'], { env: { ...process.env, NODE_OPTIONS: '' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  expect(result.output).toContain('matches');
  expect(result.code).toBe(0);
});

describe('embedded database (PGlite)', () => {
  test('a fresh database receives every migration once; a second run applies nothing', async () => {
    const pglite = await createPGlite(join(tempDir(), 'pglite'));
    try {
      expect(await applyMigrations({ pglite })).toEqual(ALL_MIGRATIONS);
      expect(await applyMigrations({ pglite })).toEqual([]);
      const { rows } = await pglite.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY 1');
      expect(rows.map((row) => row.migration_name)).toEqual(ALL_MIGRATIONS);
    } finally {
      await pglite.close();
    }
  });

  test('data and migration state survive closing and reopening the data directory', async () => {
    const dataDir = tempDir();
    let db: Database = await openDatabase({ dataDir });
    expect(db.kind).toBe('embedded');
    try {
      expect(await applyMigrations(db)).toEqual(ALL_MIGRATIONS);
      await db.ping();
      await seedFreePlan(db.prisma);
      await db.prisma.account.create({ data: { name: 'Kept', email: 'kept@example.test' } });
    } finally {
      await db.close();
    }
    expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);

    db = await openDatabase({ dataDir });
    try {
      expect(await applyMigrations(db)).toEqual([]);
      expect(await db.prisma.account.findUnique({ where: { email: 'kept@example.test' } })).toMatchObject({ name: 'Kept' });
      expect(await tables(db.prisma)).toEqual(EXPECTED_TABLES);
    } finally {
      await db.close();
    }
  });

  test('a data directory is opened by one owner at a time', async () => {
    const dataDir = tempDir();
    const db = await openDatabase({ dataDir });
    try {
      await expect(openDatabase({ dataDir })).rejects.toThrow(/already open/);
      // A pid file left by a process that no longer exists (e.g. after SIGKILL) is taken over.
    } finally {
      await db.close();
    }
    writeFileSync(join(dataDir, 'pglite.pid'), '2147483646\n');
    const again = await openDatabase({ dataDir });
    await again.close();
  });

  test('the client and the adapter behave as the domain code expects', async () => {
    const db = await openDatabase({ dataDir: tempDir() });
    try {
      await applyMigrations(db);
      await exerciseClient(db.prisma);
    } finally {
      await db.close();
    }
  });

  test('a failing migration is reported, recorded as failed, blocks later runs until resolved', async () => {
    const migrationsDir = join(tempDir(), 'migrations');
    cpSync(migrationsDirectory(), migrationsDir, { recursive: true });
    mkdirSync(join(migrationsDir, '29991231000000_broken'));
    writeFileSync(
      join(migrationsDir, '29991231000000_broken', 'migration.sql'),
      'CREATE TABLE "half_done" ("id" INTEGER);\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n',
    );
    const pglite = await createPGlite(undefined);
    try {
      await expect(applyMigrations({ pglite }, { migrationsDir })).rejects.toThrow(/no_such_table/);
      // The statements of a migration run as one transaction: nothing of it stays.
      const { rows } = await pglite.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'half_done'");
      expect(rows[0]?.n).toBe(0);
      const failed = await pglite.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NULL');
      expect(failed.rows.map((row) => row.migration_name)).toEqual(['29991231000000_broken']);
      await expect(applyMigrations({ pglite }, { migrationsDir })).rejects.toThrow(/29991231000000_broken/);

      // Fixed and marked rolled back, it is applied on the next run.
      writeFileSync(join(migrationsDir, '29991231000000_broken', 'migration.sql'), 'CREATE TABLE "half_done" ("id" INTEGER);\n');
      await resolveMigration({ pglite }, '29991231000000_broken', 'rolled-back', { migrationsDir });
      expect(await applyMigrations({ pglite }, { migrationsDir })).toEqual(['29991231000000_broken']);
      expect(await applyMigrations({ pglite }, { migrationsDir })).toEqual([]);
    } finally {
      await pglite.close();
    }
  });
});

describe('real PostgreSQL (a throwaway database on DATABASE_URL)', () => {
  let database: ThrowawayDatabase;
  beforeAll(async () => {
    database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
    // A server default other than UTC must not shift timestamps (the adapters assume UTC).
    const admin = await openDatabase({ url: database.url, poolSize: 1 });
    await admin.prisma.$executeRawUnsafe(`ALTER DATABASE "${database.name}" SET timezone TO 'America/New_York'`);
    await admin.close();
  });
  afterAll(async () => {
    await database?.drop();
  });

  test('a fresh database receives every migration once; a second run applies nothing', async () => {
    expect(await applyMigrations({ url: database.url })).toEqual(ALL_MIGRATIONS);
    expect(await applyMigrations({ url: database.url })).toEqual([]);
    const db = await openDatabase({ url: database.url, poolSize: 2 });
    try {
      expect(db.kind).toBe('postgres');
      expect(await applyMigrations(db)).toEqual([]);
      expect((await appliedRows(db.prisma)).map((row) => [row.migration_name, row.finished])).toEqual(ALL_MIGRATIONS.map((name) => [name, true]));
      expect(await tables(db.prisma)).toEqual(EXPECTED_TABLES);
    } finally {
      await db.close();
    }
  });

  // Across processes, Prisma's advisory lock (taken by the engine on its one connection)
  // serialises the runs. Needs the compiled build (`npm test` builds first).
  const built = join(__dirname, '..', '..', 'dist', 'db', 'migrate.js');
  test('processes starting at once apply each migration once', async () => {
    const fresh = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
    try {
      const script = `require(${JSON.stringify(built)}).applyMigrations({ url: process.env.TARGET_URL })
        .then((names) => process.stdout.write(JSON.stringify(names)), (error) => { console.error(error); process.exit(1); })`;
      const runs = await Promise.all(
        [1, 2, 3].map(
          () =>
            new Promise<string[]>((resolve, reject) => {
              execFile(process.execPath, ['-e', script], { env: { ...process.env, NODE_OPTIONS: '', TARGET_URL: fresh.url } }, (error, stdout, stderr) =>
                error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as string[]),
              );
            }),
        ),
      );
      expect(runs.flat().sort()).toEqual(ALL_MIGRATIONS);
      expect(runs.filter((names) => names.length === 0)).toHaveLength(2);
    } finally {
      await fresh.drop();
    }
  });

  test('calls at once in one process apply each migration once', async () => {
    const fresh = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
    try {
      const runs = await Promise.all([applyMigrations({ url: fresh.url }), applyMigrations({ url: fresh.url })]);
      expect(runs.flat().sort()).toEqual(ALL_MIGRATIONS);
    } finally {
      await fresh.drop();
    }
  });

  test('the client and the adapter behave as the domain code expects', async () => {
    const db = await openDatabase({ url: database.url, poolSize: 4 });
    try {
      expect(await db.prisma.$queryRawUnsafe('SHOW TimeZone')).toEqual([{ TimeZone: 'UTC' }]);
      await exerciseClient(db.prisma);
    } finally {
      await db.close();
    }
  });

  test('ping answers, and fails fast when the server refuses or does not answer', async () => {
    const db = await openDatabase({ url: database.url });
    try {
      await db.ping();
    } finally {
      await db.close();
    }

    // On a clock of the test's: the refusal must end the ping with no timer having run, and the silent
    // server's ping must end when its 500 ms are up, not a moment before (nor wait for anything after).
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    try {
      const refused = new URL(database.url);
      refused.port = '1';
      await expect(pingPostgres(refused.toString(), 1000)).rejects.toThrow(/ECONNREFUSED|refused/i);

      // A server that accepts the connection and then never says a word.
      const connected = new Promise((resolve) => silent.once('connection', resolve));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const hanging = new URL(database.url);
      hanging.port = String((silent.address() as { port: number }).port);
      let outcome: string | undefined;
      const ping = pingPostgres(hanging.toString(), 500).then(
        () => (outcome = 'answered'),
        (error: Error) => (outcome = error.message),
      );
      await connected;
      const settle = () => new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 5; i++) await settle();
      await jest.advanceTimersByTimeAsync(499);
      for (let i = 0; i < 5; i++) await settle();
      expect(outcome).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1);
      await ping;
      expect(outcome).toMatch(/500 ms|timeout/i);
    } finally {
      jest.useRealTimers();
      for (const socket of sockets) socket.destroy();
      if (silent.listening) await new Promise((resolve) => silent.close(resolve));
    }
  });
});
