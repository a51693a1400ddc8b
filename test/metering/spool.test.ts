import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openDatabase } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { insertUsage, insertUsageJson, UsageLedger, type UsageEntry } from '../../src/metering/ledger';
import { UsageSpool, type SpoolOptions } from '../../src/metering/spool';
import { waitFor } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';

describe('usage spool: the ledger written to local disk first, shipped to PostgreSQL in bulk', () => {
  let gateway: TestGateway;
  let root: string;
  let account: { accountId: string; keyId: string };
  beforeAll(async () => {
    gateway = await startTestGateway();
    account = await gateway.newKey();
  });
  afterAll(() => gateway?.stop());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tg-spool-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const entry = (overrides: Partial<UsageEntry> = {}): UsageEntry => ({
    requestId: randomUUID(),
    accountId: account.accountId,
    apiKeyId: account.keyId,
    planCode: 'FREE',
    operation: 'spooled',
    costUnits: 3,
    occurredAt: new Date(),
    ...overrides,
  });
  const options = (overrides: Partial<SpoolOptions> = {}): SpoolOptions => ({
    dir: root,
    shipMs: 50,
    staleMs: 60_000,
    fsyncMs: 0,
    ship: (json) => insertUsageJson(gateway.services.db.sql, json),
    ...overrides,
  });
  const stored = (ids: string[]) => gateway.services.db.prisma.usageRecord.findMany({ where: { requestId: { in: ids } } });
  /** A segment line as the spool writes it (src/metering/spool.ts), for segments a test lays down itself. */
  const line = (e: UsageEntry) =>
    JSON.stringify({
      r: e.requestId,
      a: e.accountId,
      k: e.apiKeyId,
      p: e.planCode,
      o: e.operation,
      m: 'api_cost_units',
      c: e.costUnits,
      t: e.occurredAt.getTime(),
      d: null,
    });
  /** The spool directory of a process that is gone: its pid no longer runs on this host. */
  const deadProcessDirectory = async (suffix: string) => {
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    const dir = join(root, `${hostname()}-${deadPid}-${suffix}`);
    await mkdir(dir);
    return dir;
  };
  const segments = async () => {
    const names: string[] = [];
    for (const dir of await readdir(root)) names.push(...(await readdir(join(root, dir))).map((name) => `${dir}/${name}`));
    return names;
  };

  /** The flags this process opened `path` with (Linux /proc); fails when it has no descriptor for it. */
  const openFlags = async (path: string) => {
    const fds = await readdir('/proc/self/fd');
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    const fd = fds[links.indexOf(path)];
    expect(fd).toBeDefined();
    return Number.parseInt(/^flags:\s*([0-7]+)$/m.exec(await readFile(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
  };

  it('a record is on disk when its write resolves, before any shipping; shutdown ships what is left and leaves nothing behind', async () => {
    const spool = await UsageSpool.open(options({ shipMs: 60_000 }), gateway.services.logger);
    try {
      const entries = [entry({ product: 'card-risk', meter: 'card_risk_units' }), entry()];
      await spool.append(entries);
      // Durable before any shipping: the line is in this process's segment.
      const [segment] = await segments();
      const lines = (await readFile(join(root, segment), 'utf8')).trim().split('\n');
      expect(lines.map((line) => JSON.parse(line).r)).toEqual(entries.map((e) => e.requestId));
      expect(await stored(entries.map((e) => e.requestId))).toEqual([]);
      expect(spool.unshipped).toBe(2);
      // Shutdown ships what is left, the current segment included.
      await spool.close();
      expect((await stored(entries.map((e) => e.requestId))).length).toBe(2);
      expect(await readdir(root)).toEqual([]);
    } finally {
      await spool.close();
    }
  });

  it('writes each append synchronously: the open segment has O_DSYNC, so a resolved append is on disk (Linux /proc)', async () => {
    const spool = await UsageSpool.open(options({ shipMs: 60_000 }), gateway.services.logger);
    try {
      await spool.append([entry()]);
      const [segment] = await segments();
      const flags = await openFlags(join(root, segment));
      expect({ dsync: (flags & constants.O_DSYNC) === constants.O_DSYNC, append: (flags & constants.O_APPEND) === constants.O_APPEND }).toEqual({
        dsync: true,
        append: true,
      });
    } finally {
      await spool.close();
    }
  });

  it('with fsyncMs (METERING_SPOOL_FSYNC_MS), an append resolves once the system has it; the segment is flushed on the interval, beside the appends, and before it is closed', async () => {
    const spool = await UsageSpool.open(options({ shipMs: 60_000, fsyncMs: 20 }), gateway.services.logger);
    const entries = [entry(), entry(), entry()];
    try {
      await spool.append([entries[0]]);
      const [segment] = await segments();
      expect((await openFlags(join(root, segment))) & constants.O_DSYNC).toBe(0);

      // A flush the disk holds up: appends go on meanwhile.
      const file = (spool as unknown as { file: { datasync(): Promise<void> } }).file;
      const datasync = file.datasync.bind(file);
      let release: () => void = () => undefined;
      const flushes = jest.spyOn(file, 'datasync').mockImplementationOnce(() => new Promise<void>((resolve) => (release = resolve)).then(datasync));
      await waitFor('a flush on the interval', async () => flushes.mock.calls.length === 1, 5_000, 5);
      const appended = await Promise.race([spool.append([entries[1]]).then(() => 'appended'), new Promise((resolve) => setTimeout(resolve, 2_000, 'waited'))]);
      expect(appended).toBe('appended');
      await spool.append([entries[2]]);
      release();
      // Shutdown flushes what the last flush did not hold before it closes the segment.
      await spool.close();
      expect(flushes.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect((await stored(entries.map((e) => e.requestId))).length).toBe(3);
    } finally {
      await spool.close();
    }
  });

  describe('with memoryDir (METERING_SPOOL_MEMORY_DIR): the current segment in memory, mirrored to disk on the interval', () => {
    let memory: string;
    beforeEach(async () => {
      memory = await mkdtemp(join(tmpdir(), 'tg-spool-memory-'));
    });
    afterEach(() => rm(memory, { recursive: true, force: true }));

    const idsIn = async (path: string) =>
      (await readFile(path, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((text) => (JSON.parse(text) as { r: string }).r);
    type Mirror = FileHandle & { write: (...args: unknown[]) => Promise<unknown> };
    /** The current segment's mirror on disk (opened at its first flush). */
    const mirrorOf = (spool: UsageSpool) => (spool as unknown as { mirrored: { mirror: Mirror } }).mirrored.mirror;
    /** Calls held up now: a test that fails while one is held lets it go before closing its spool, which waits for it (else the test only times out, its failure unseen). */
    const holding: Array<{ release: () => void }> = [];
    const letGo = () => {
      for (const held of holding.splice(0)) held.release();
    };
    /** A call the disk holds up until `release()`. */
    const holdUp = <T extends object>(target: T, method: keyof T & string) => {
      const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
      const held: { release: () => void; calls: number } = { release: () => undefined, calls: 0 };
      holding.push(held);
      jest.spyOn(target as Record<string, (...args: unknown[]) => Promise<unknown>>, method).mockImplementationOnce((...args: unknown[]) => {
        held.calls++;
        return new Promise<void>((resolve) => (held.release = resolve)).then(() => original(...args));
      });
      return held;
    };
    const within2s = (promise: Promise<unknown>) => Promise.race([promise.then(() => 'done'), new Promise((resolve) => setTimeout(resolve, 2_000, 'waited'))]);
    /** A spool in memory, its first record appended and mirrored to disk. */
    const mirroredSpool = async (first: UsageEntry, overrides: Partial<SpoolOptions> = {}) => {
      const spool = await UsageSpool.open(options({ shipMs: 60_000, fsyncMs: 20, memoryDir: memory, ...overrides }), gateway.services.logger);
      await spool.append([first]);
      const [own] = await readdir(memory);
      await waitFor('the mirror on disk', async () => (await idsIn(join(root, own, '000000000001.ndjson'))).length === 1, 5_000, 5);
      return { spool, own };
    };
    const shippedRecords = (ship: jest.Mock) => ship.mock.calls.reduce((sum, [json]) => sum + (JSON.parse(json as string) as unknown[]).length, 0);

    it('an append resolves once memory has it; the disk gets it on the interval, outside the append; one copy is shipped and neither directory is left behind', async () => {
      const ship = jest.fn(options().ship);
      const entries = [entry(), entry(), entry()];
      const { spool, own } = await mirroredSpool(entries[0], { ship });
      try {
        const inMemory = join(memory, own, '000000000001.ndjson');
        const onDisk = join(root, own, '000000000001.ndjson');
        expect(await idsIn(inMemory)).toEqual([entries[0].requestId]);

        // The disk holds up the mirror's next write: appends resolve meanwhile, from memory.
        const write = holdUp(mirrorOf(spool), 'write');
        expect(await within2s(spool.append([entries[1]]))).toBe('done');
        await waitFor('a write of the mirror', async () => write.calls === 1, 5_000, 5);
        await spool.append([entries[2]]);
        expect(await idsIn(inMemory)).toEqual(entries.map((e) => e.requestId));
        expect(await idsIn(onDisk)).toEqual([entries[0].requestId]);
        write.release();
        await waitFor('the mirror caught up', async () => (await idsIn(onDisk)).length === 3, 5_000, 5);
        expect(await idsIn(onDisk)).toEqual(entries.map((e) => e.requestId));

        await spool.close();
        expect((await stored(entries.map((e) => e.requestId))).length).toBe(3);
        expect(shippedRecords(ship)).toBe(3);
        expect({ disk: await readdir(root), memory: await readdir(memory) }).toEqual({ disk: [], memory: [] });
      } finally {
        letGo();
        await spool.close();
      }
    });

    it("closing a segment never holds up an append: the next one starts in memory at once, while the closed one's mirror is still being flushed; shipping waits for it", async () => {
      const entries = [entry(), entry(), entry()];
      const { spool, own } = await mirroredSpool(entries[0]);
      try {
        await spool.append([entries[1]]);
        // The disk holds up the closing segment's last flush; shipping (which closes it) waits for it, appends do not.
        const datasync = holdUp(mirrorOf(spool), 'datasync');
        const shipped = (spool as unknown as { ship(): Promise<void> }).ship();
        await waitFor('the last flush of the closed segment', async () => datasync.calls === 1, 5_000, 5);
        expect(await within2s(spool.append([entries[2]]))).toBe('done');
        expect(await idsIn(join(memory, own, '000000000002.ndjson'))).toEqual([entries[2].requestId]);
        expect(await stored(entries.map((e) => e.requestId))).toEqual([]);
        datasync.release();
        await shipped;
        expect((await stored(entries.map((e) => e.requestId))).map((row) => row.requestId).sort()).toEqual([entries[0].requestId, entries[1].requestId].sort());
        // The shipped segment is gone from both; the current one is in memory (and its mirror once flushed).
        expect(await readdir(join(memory, own))).toEqual(['000000000002.ndjson']);
        expect(await readdir(join(root, own))).not.toContain('000000000001.ndjson');
        await spool.close();
        expect((await stored(entries.map((e) => e.requestId))).length).toBe(3);
      } finally {
        letGo();
        await spool.close();
      }
    });

    it("takes over both copies of a dead process's segment (the mirror a torn prefix of the memory copy): every record stored once", async () => {
      const onDisk = await deadProcessDirectory('89abcdef');
      const inMemory = join(memory, basename(onDisk));
      await mkdir(inMemory);
      const current = [entry(), entry(), entry()];
      await writeFile(join(inMemory, '000000000002.ndjson'), `${current.map(line).join('\n')}\n`);
      await writeFile(join(onDisk, '000000000002.ndjson'), `${line(current[0])}\n${line(current[1]).slice(0, 30)}`);
      // An older segment, closed with its mirror whole: on disk only.
      const older = entry();
      await writeFile(join(onDisk, '000000000001.ndjson'), `${line(older)}\n`);

      const spool = await UsageSpool.open(options({ fsyncMs: 20, memoryDir: memory }), gateway.services.logger);
      try {
        const rows = await stored([older, ...current].map((e) => e.requestId));
        expect(rows.map((row) => row.requestId).sort()).toEqual([older, ...current].map((e) => e.requestId).sort());
        expect(await segments()).toEqual([]);
        const [own] = await readdir(memory);
        expect({ memory: await readdir(memory), left: await readdir(join(memory, own)) }).toEqual({ memory: [own], left: [] });
      } finally {
        await spool.close();
      }
    });

    it('a mirror the disk refuses: the memory copy of its segment is the one shipped, and appends go on in a new segment', async () => {
      const entries = [entry(), entry(), entry()];
      const { spool, own } = await mirroredSpool(entries[0]);
      try {
        mirrorOf(spool).write = () => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
        await spool.append([entries[1]]);
        // The failed flush closes the segment: its memory copy stays (both records), its partial mirror goes.
        await waitFor('the segment closed', async () => !(await readdir(join(root, own))).includes('000000000001.ndjson'), 5_000, 5);
        expect(await idsIn(join(memory, own, '000000000001.ndjson'))).toEqual([entries[0].requestId, entries[1].requestId]);
        await spool.append([entries[2]]);
        await waitFor('the new segment mirrored', async () => (await idsIn(join(root, own, '000000000002.ndjson'))).length === 1, 5_000, 5);
        expect((await readdir(join(memory, own))).sort()).toEqual(['000000000001.ndjson', '000000000002.ndjson']);
        await spool.close();
        expect((await stored(entries.map((e) => e.requestId))).length).toBe(3);
        expect({ disk: await readdir(root), memory: await readdir(memory) }).toEqual({ disk: [], memory: [] });
      } finally {
        await spool.close();
      }
    });
  });

  it('ships on its timer: group-committed ledger writes reach the table in bulk, and nothing stays on disk', async () => {
    const ship = jest.fn(options().ship);
    const spool = await UsageSpool.open(options({ ship }), gateway.services.logger);
    const ledger = new UsageLedger(gateway.services.db.sql, { flushMs: 5, maxBatch: 500, sink: (entries) => spool.append(entries) }, gateway.services.logger);
    try {
      const entries = Array.from({ length: 400 }, (_, i) => entry({ product: i % 2 ? 'card-risk' : null, meter: i % 2 ? 'card_risk_units' : undefined }));
      await Promise.all(entries.map((e) => ledger.record(e)));
      await waitFor('the spool shipped', async () => (await stored(entries.map((e) => e.requestId))).length === 400, 10_000, 20);
      const rows = await stored(entries.map((e) => e.requestId));
      const byId = new Map(rows.map((row) => [row.requestId, row]));
      for (const e of entries) {
        expect(byId.get(e.requestId)).toMatchObject({
          accountId: e.accountId,
          apiKeyId: e.apiKeyId,
          planCode: 'FREE',
          operation: 'spooled',
          costUnits: 3,
          product: e.product ?? null,
          meter: e.meter ?? 'api_cost_units',
          occurredAt: e.occurredAt,
        });
      }
      // 400 records in a few inserts, not one per group commit.
      expect(ship.mock.calls.length).toBeLessThanOrEqual(3);
      await waitFor('the segments deleted', async () => (await segments()).length === 0 && spool.unshipped === 0, 5_000, 20);
    } finally {
      await spool.close();
    }
    expect(await readdir(root)).toEqual([]); // a clean shutdown leaves nothing behind
  });

  it('keeps billing while the table is away: appends succeed, records wait on disk and are shipped once it is back', async () => {
    let away = true;
    const spool = await UsageSpool.open(
      options({ ship: (json) => (away ? Promise.reject(new Error('connection refused')) : insertUsageJson(gateway.services.db.sql, json)) }),
      gateway.services.logger,
    );
    try {
      const entries = Array.from({ length: 50 }, () => entry());
      for (const e of entries) await spool.append([e]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(spool.unshipped).toBe(50);
      expect((await segments()).length).toBeLessThanOrEqual(2); // one segment waits, not one per tick
      away = false;
      await waitFor('shipped after the outage', async () => (await stored(entries.map((e) => e.requestId))).length === 50, 10_000, 20);
      await waitFor('nothing unshipped', async () => spool.unshipped === 0, 5_000, 20);
    } finally {
      await spool.close();
    }
  });

  it("takes over a dead process's segments at once: every whole line shipped once (even if shipped before), a torn last line dropped, late rollups rebuilt", async () => {
    const orphan = await deadProcessDirectory('0123abcd');
    const old = new Date(Date.now() - 3_600_000);
    const whole = [entry({ occurredAt: old }), entry({ occurredAt: new Date(old.getTime() + 1_000) }), entry()];
    // One of them reached the table before the crash (the process died between insert and delete).
    await insertUsage(gateway.services.db.sql, [whole[0]]);
    const torn = entry();
    await writeFile(join(orphan, '000000000001.ndjson'), `${whole.map(line).join('\n')}\n${line(torn).slice(0, 40)}`);
    // A live process's directory on another host is left alone until it is stale.
    const elsewhere = join(root, `other-host-1-0123abcd`);
    await mkdir(elsewhere);
    const remote = entry();
    await writeFile(join(elsewhere, '000000000001.ndjson'), `${line(remote)}\n`);

    const late: Array<[Date, Date]> = [];
    const spool = await UsageSpool.open(options({ onLate: async (from, to) => void late.push([from, to]) }), gateway.services.logger);
    try {
      const rows = await stored([...whole, torn].map((e) => e.requestId));
      expect(rows.map((row) => row.requestId).sort()).toEqual(whole.map((e) => e.requestId).sort());
      // From the oldest record on (the fresh one is not late: rollups settle it by themselves).
      expect(late).toHaveLength(1);
      expect(late[0][0]).toEqual(old);
      expect(late[0][1].getTime()).toBeGreaterThan(old.getTime() + 1_000);
      expect(late[0][1].getTime()).toBeLessThan(Date.now() - 29_000);
      expect(await readdir(root)).not.toContain(basename(orphan));
      expect(await stored([remote.requestId])).toEqual([]);
      expect((await segments()).filter((name) => !name.startsWith('other-host'))).toEqual([]); // the torn line dropped, not kept aside

      const past = new Date(Date.now() - 120_000);
      await utimes(elsewhere, past, past);
      await waitFor("the other host's stale directory taken over", async () => (await stored([remote.requestId])).length === 1, 5_000, 20);
    } finally {
      await spool.close();
    }
  });

  it('a segment with lines the database refuses: the others are shipped, the refused ones kept aside for an operator, none retried every tick', async () => {
    const orphan = await deadProcessDirectory('4567abcd');
    const good = [entry(), entry()];
    const notJson = '{"r": "half';
    const refusedByTheDatabase = line({ ...entry(), accountId: 'not-a-uuid' });
    await writeFile(join(orphan, '000000000001.ndjson'), `${line(good[0])}\n${notJson}\n${refusedByTheDatabase}\n${line(good[1])}\n`);
    const ship = jest.fn(options().ship);
    const spool = await UsageSpool.open(options({ ship }), gateway.services.logger);
    try {
      expect((await stored(good.map((e) => e.requestId))).length).toBe(2);
      const [aside] = await segments();
      expect(aside).toMatch(/4567abcd-000000000001\.ndjson\.unreadable$/);
      expect(await readFile(join(root, aside), 'utf8')).toBe(`${notJson}\n${refusedByTheDatabase}\n`);
      const calls = ship.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 200)); // four ticks
      expect(ship.mock.calls.length).toBe(calls);
    } finally {
      await spool.close();
    }
  });

  it('ships into the embedded database (PGlite) as into PostgreSQL, every column whole', async () => {
    const db = await openDatabase({ dataDir: join(root, 'data') });
    try {
      await applyMigrations(db);
      const spool = await UsageSpool.open(options({ dir: join(root, 'spool'), ship: (json) => insertUsageJson(db.sql, json) }), gateway.services.logger);
      const entries = [entry({ product: 'card-risk', meter: 'card_risk_units' }), entry({ occurredAt: new Date(1_764_806_400_123) })];
      await spool.append(entries);
      await spool.close();
      const rows = await db.prisma.usageRecord.findMany({ where: { requestId: { in: entries.map((e) => e.requestId) } }, orderBy: { occurredAt: 'asc' } });
      expect(rows.map(({ requestId, product, meter, occurredAt, costUnits }) => ({ requestId, product, meter, occurredAt, costUnits }))).toEqual([
        { requestId: entries[1].requestId, product: null, meter: 'api_cost_units', occurredAt: new Date(1_764_806_400_123), costUnits: 3 },
        { requestId: entries[0].requestId, product: 'card-risk', meter: 'card_risk_units', occurredAt: entries[0].occurredAt, costUnits: 3 },
      ]);
    } finally {
      await db.close();
    }
  });

  it('an append the disk refuses rejects its callers and leaves the spool writing whole lines to a new segment', async () => {
    const spool = await UsageSpool.open(options({ shipMs: 60_000 }), gateway.services.logger);
    const first = entry();
    const after = entry();
    try {
      await spool.append([first]);
      const own = join(root, (await readdir(root))[0]);
      // The current segment's file handle fails its next write (as on a full disk).
      const file = (spool as unknown as { file: { write: unknown } }).file;
      file.write = () => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
      await expect(spool.append([entry()])).rejects.toThrow('no space left on device');
      await spool.append([after]);
      expect((await readdir(own)).sort()).toEqual(['000000000001.ndjson', '000000000002.ndjson']);
    } finally {
      await spool.close();
    }
    expect((await stored([first.requestId, after.requestId])).length).toBe(2);
  });
});
