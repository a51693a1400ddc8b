import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { UsageLedger } from '../../src/metering/ledger';
import { rebuildRollups } from '../../src/metering/rollups';
import { privateService } from '../support/private-service';
import { startGatewayProcess, waitFor } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';

describe('usage ledger', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway?.stop());

  it('group-commits concurrent records: one INSERT for many requests, each caller resumes when durable', async () => {
    const { accountId, keyId } = await gateway.newKey();
    const prisma = gateway.services.db.prisma;
    const sql = gateway.services.db.sql;
    const ledger = new UsageLedger(sql, { flushMs: 20, maxBatch: 500 }, gateway.services.logger);
    const writes = jest.spyOn(sql, 'query');
    const ids = Array.from({ length: 300 }, () => randomUUID());
    await Promise.all(
      ids.map((requestId) =>
        ledger.record({ requestId, accountId, apiKeyId: keyId, planCode: 'FREE', operation: 'test', costUnits: 2, occurredAt: new Date() }),
      ),
    );
    expect(writes.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(writes.mock.calls.length).toBeLessThanOrEqual(2);
    writes.mockRestore();
    expect(await prisma.usageRecord.count({ where: { requestId: { in: ids } } })).toBe(300);
    // A retried record changes nothing.
    await ledger.record({ requestId: ids[0], accountId, apiKeyId: keyId, planCode: 'FREE', operation: 'retry', costUnits: 99, occurredAt: new Date() });
    expect(await prisma.usageRecord.findUniqueOrThrow({ where: { requestId: ids[0] } })).toMatchObject({ operation: 'test', costUnits: 2 });
  });

  it("commits one request's entries (one per data product) in the same statement, even across a full batch", async () => {
    const { accountId, keyId } = await gateway.newKey();
    const sql = gateway.services.db.sql;
    const ledger = new UsageLedger(sql, { flushMs: 20, maxBatch: 2 }, gateway.services.logger);
    const writes = jest.spyOn(sql, 'query');
    const entry = (requestId: string, product?: string) => ({
      requestId,
      accountId,
      apiKeyId: keyId,
      planCode: 'FREE' as const,
      operation: 'test',
      costUnits: 1,
      occurredAt: new Date(),
      product,
    });
    const alone = randomUUID();
    const split = randomUUID();
    // The first record half fills a batch of two; the three parts of the next must not be cut after the first.
    await Promise.all([
      ledger.record(entry(alone)),
      ledger.record(entry(split), entry(`${split}#merchant-offers`, 'merchant-offers'), entry(`${split}#x`, 'x')),
    ]);
    const batches = writes.mock.calls.map((call) => (call[1] as string[][])[0]);
    writes.mockRestore();
    expect(batches.find((ids) => ids.includes(split))).toEqual([alone, split, `${split}#merchant-offers`, `${split}#x`]);
  });

  it('records each billable response under the request id the client sees, and shows it in usage', async () => {
    const { accountId, key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const own = 'query Own($a: ID!) { account(id: $a) { id } }';
    const first = await gateway.query(own, { key, variables: { a: accountId } });
    const free = await gateway.query('{ rateLimit { used } }', { key });
    const requestId = first.headers.get('x-request-id')!;
    const records = await gateway.services.db.prisma.usageRecord.findMany({ where: { accountId } });
    expect(records).toEqual([expect.objectContaining({ requestId, operation: 'Own', costUnits: 1, planCode: 'PROFESSIONAL' })]);
    expect(free.headers.get('x-request-id')).not.toBe(requestId);
    // Operators see the write that every billable response waits for.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(Number(/^tollgraph_usage_ledger_write_seconds_count\{outcome="ok"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^tollgraph_usage_ledger_batch_records_count \d+/m);

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const usage = await gateway.query(
      `query($f: DateTime!, $t: DateTime!) { usage(from: $f, to: $t, granularity: HOUR) { start end requests costUnits reportedUnits pendingUnits } }`,
      {
        key,
        variables: { f: from, t: to },
      },
    );
    expect(usage.body.data.usage).toEqual([expect.objectContaining({ requests: 1, costUnits: 1, reportedUnits: 0, pendingUnits: 1 })]);
    // Rebuilding the rollups from the ledger lands on the same figures.
    await rebuildRollups(gateway.services.db.prisma, new Date(from), new Date(to));
    await rebuildRollups(gateway.services.db.prisma, new Date(from), new Date(to));
    expect(
      (await gateway.services.db.prisma.usageRollup.findMany({ where: { accountId } })).map((r) => [r.granularity, r.requests, r.costUnits]).sort(),
    ).toEqual([
      ['DAY', 1, 1],
      ['HOUR', 1, 1],
    ]);
  });

  it('indexes only the records that have a data product or a meter report, and the look-ups by either still use their index', async () => {
    const client = new Client({ connectionString: gateway.services.config.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ indexname: string; indexdef: string }>(
        `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_records' AND indexname IN ('usage_records_product_occurred_at_idx', 'usage_records_meter_report_id_idx') ORDER BY 1`,
      );
      expect(rows.map((row) => [row.indexname, / WHERE \((\w+) IS NOT NULL\)$/.exec(row.indexdef)?.[1]])).toEqual([
        ['usage_records_meter_report_id_idx', 'meter_report_id'],
        ['usage_records_product_occurred_at_idx', 'product'],
      ]);
      // The planner must still prove each look-up is inside its index's predicate (a sequential
      // scan would be chosen otherwise, whatever its cost), as billing and the marketplace ask.
      await client.query('SET enable_seqscan = off');
      const plan = async (query: string, params: unknown[]) => JSON.stringify((await client.query(`EXPLAIN (FORMAT JSON) ${query}`, params)).rows);
      expect(await plan('UPDATE usage_records SET reported_at = now() WHERE meter_report_id = $1', [randomUUID()])).toContain(
        'usage_records_meter_report_id_idx',
      );
      expect(
        await plan('SELECT count(*) FROM usage_records WHERE product = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at < $3', [
          ['merchant-offers'],
          new Date(0),
          new Date(),
        ]),
      ).toContain('usage_records_product_occurred_at_idx');
    } finally {
      await client.end();
    }
  });
});

describe('usage ledger failures', () => {
  it('answers SERVICE_UNAVAILABLE instead of serving unbilled when the ledger cannot be written', async () => {
    const postgres = await privateService('postgres');
    const gateway = await startTestGateway({ DATABASE_URL: postgres.url });
    try {
      const { accountId, key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
      const own = () => gateway.query('query($a: ID!) { account(id: $a) { id } }', { key, variables: { a: accountId } });
      expect((await own()).status).toBe(200); // key and account now cached in this process
      await postgres.stop();
      const refused = await own();
      expect(refused.status).toBe(503);
      // Not served, so not spent: the unit reserved for it is back (the first request's unit stays used).
      expect(refused.body).toEqual({
        errors: [expect.objectContaining({ extensions: { code: 'SERVICE_UNAVAILABLE' } })],
        extensions: {
          cost: expect.objectContaining({ requestedQueryCost: 1, actualQueryCost: 0, quota: expect.objectContaining({ remaining: 1_000_000 - 1 }) }),
        },
      });
      await postgres.start();
      const served = await own();
      expect(served.status).toBe(200);
      const ids = (await gateway.services.db.prisma.usageRecord.findMany({ where: { accountId } })).map((record) => record.requestId).sort();
      expect(ids).toContain(served.headers.get('x-request-id'));
      expect(ids).toHaveLength(2);
      expect(ids).not.toContain(refused.headers.get('x-request-id'));
    } finally {
      await gateway.stop().catch(() => undefined);
      await postgres.destroy();
    }
  });

  it.each([
    ['written to PostgreSQL', undefined, false],
    ['spooled on local disk (METERING_SPOOL_DIR)', '0', false],
    ['spooled, flushed to disk every 20 ms (METERING_SPOOL_FSYNC_MS)', '20', false],
    ['spooled in memory, mirrored to disk every 20 ms (METERING_SPOOL_MEMORY_DIR)', '20', true],
  ])('after kill -9 under load, every 200 the client received has exactly one ledger record: %s', async (_, fsyncMs, inMemory) => {
    const setup = await startTestGateway();
    const spoolDir = fsyncMs && (await mkdtemp(join(tmpdir(), 'tg-spool-')));
    const memoryDir = inMemory ? await mkdtemp(join(tmpdir(), 'tg-spool-memory-')) : undefined;
    try {
      const env = {
        ...setup.env,
        LOG_LEVEL: 'warn',
        ...(spoolDir && { METERING_SPOOL_DIR: spoolDir, METERING_SPOOL_FSYNC_MS: fsyncMs }),
        ...(memoryDir && { METERING_SPOOL_MEMORY_DIR: memoryDir }),
      };
      const { accountId, key } = await setup.newKey({ plan: 'ENTERPRISE' });
      const victim = await startGatewayProcess(env);
      const served: string[] = [];
      let failures = 0;
      // Each client asks until the process is gone under it.
      const client = async () => {
        for (;;) {
          try {
            const response = await fetch(`${victim.url}/graphql`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
              body: JSON.stringify({ query: 'query($a: ID!) { account(id: $a) { id } }', variables: { a: accountId } }),
            });
            if (response.status === 200 && ((await response.json()) as { data?: unknown }).data) served.push(response.headers.get('x-request-id')!);
          } catch {
            failures++;
            return; // the process is gone
          }
        }
      };
      const clients = Array.from({ length: 20 }, client);
      // Killed in full flow, however slowly this machine serves the first answers.
      await waitFor('sixty answers before the kill', async () => served.length >= 60, 60_000, 5).finally(() => victim.child.kill('SIGKILL'));
      await Promise.all(clients);
      expect(await victim.exited).toBe('SIGKILL');
      expect(served.length).toBeGreaterThan(50);
      expect(failures).toBeGreaterThan(0);

      // The dead process's own directories, left behind.
      for (const dir of [spoolDir, memoryDir]) if (dir) expect(await readdir(dir)).toHaveLength(1);
      // The restarted process (on the same spool, if any) ships what the dead one left before it serves.
      const restarted = await startGatewayProcess(env);
      await restarted.stop();
      for (const dir of [spoolDir, memoryDir]) if (dir) expect(await readdir(dir)).toEqual([]);
      const records = await setup.services.db.prisma.usageRecord.findMany({ where: { accountId } });
      const recorded = new Set(records.map((record) => record.requestId));
      // Billed once: every answer a client saw is recorded, and the only records no client saw are
      // the requests in flight when the process died (at most one per client).
      expect(served.filter((id) => !recorded.has(id))).toEqual([]);
      expect(records.length - served.length).toBeGreaterThanOrEqual(0);
      expect(records.length - served.length).toBeLessThanOrEqual(20);
    } finally {
      await setup.stop();
      for (const dir of [spoolDir, memoryDir]) if (dir) await rm(dir, { recursive: true, force: true });
    }
  });
});
