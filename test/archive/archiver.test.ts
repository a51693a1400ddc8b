import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { columnData, transactionsDataset } from '../../src/archive/datasets';
import { ArchiveManifest } from '../../src/archive/manifest';
import { objectStoreFor, type ObjectStore } from '../../src/archive/object-store';
import { readArchiveObject } from '../../src/archive/reader';
import { replayFromArchive } from '../../src/archive/replay';
import { avroShare, transactionsSchemaId } from '../../src/feed/avro';
import { decodeTransaction } from '../../src/risk/contract';
import { runBuilt, waitFor } from '../support/process';
import { directWriter } from './direct';
import { archiveSettings, archiverProcess, feedMessages } from './support';
import { consumerProcess, endOffsetTotal, referenceRun, riskEnv, storedStates, waitUntilConsumed, type KafkaRecord, type RiskEnv } from '../risk/support';

const traffic = (count: number, seed: number): KafkaRecord[] => feedMessages(count, seed).map(({ key, value }) => ({ key, value }));

const sha = (bytes: Uint8Array | null) => (bytes ? createHash('sha256').update(bytes).digest('hex') : 'null');
const countOf = <T>(values: T[]) => values.reduce((counts, value) => counts.set(value, (counts.get(value) ?? 0) + 1), new Map<T, number>());

/** The describe block's own world (a riskEnv) with its archive under a fresh key prefix, all removed afterwards. */
function archiveWorld(partitions: number) {
  const world = {} as { env: RiskEnv; store: ObjectStore; prefix: string };
  beforeAll(async () => {
    world.prefix = `test-${randomBytes(4).toString('hex')}/`;
    world.env = await riskEnv({ ...archiveSettings(world.prefix), TRANSACTIONS_PARTITIONS: String(partitions) });
    world.store = (await objectStoreFor(world.env.config))!;
  });
  afterAll(async () => {
    if (world.store) await world.store.delete(await world.store.list(world.prefix));
    await world.env?.close();
  });
  return world;
}

interface Segment {
  topic: string;
  partition: number;
  from: number;
  to: number;
  records: number;
  objects: string[];
  committed: boolean;
}

describe('archiver: topics to Parquet objects in S3 (real Kafka, Postgres, versitygw)', () => {
  const world = archiveWorld(4);
  const messages = feedMessages(5_000, 31);
  // The reference reads the JSON of every event; on the topic, a third of the valid ones are Avro.
  const reference = referenceRun(messages);
  let records: KafkaRecord[];

  beforeAll(async () => {
    records = messages.map(avroShare(await transactionsSchemaId(world.env.config), 0.3, 31)).map(({ key, value }) => ({ key, value }));
  });

  const segments = async (): Promise<Segment[]> =>
    (
      await world.env.services.db.sql.query<{
        topic: string;
        partition: number;
        from: string;
        to: string;
        records: number;
        objects: string[];
        committed: boolean;
      }>(
        `SELECT topic, partition, from_offset::text AS "from", to_offset::text AS "to", records, objects, committed FROM archive_segments ORDER BY topic, partition, from_offset`,
      )
    ).map((row) => ({ ...row, from: Number(row.from), to: Number(row.to) }));
  const archivedUpTo = async (topic: string) => (await segments()).filter((s) => s.topic === topic && s.committed).reduce((sum, s) => sum + s.to - s.from, 0);
  const waitUntilArchived = async (topic: string, timeoutMs = 90_000) => {
    const end = await endOffsetTotal(world.env.kafka, topic);
    await waitFor(`${topic} archived up to ${end}`, async () => (await archivedUpTo(topic)) >= end, timeoutMs, 100);
  };

  /** Sets the archivers' committed Kafka offsets back to the start, once the killed member has left the group. */
  async function forgetKafkaOffsets() {
    const admin = world.env.kafka.admin();
    await admin.connect();
    try {
      const groupId = `${world.env.config.KAFKA_TOPIC_PREFIX}archiver`;
      await waitFor('the killed archiver to leave the group', async () => (await admin.describeGroups([groupId])).groups[0].state === 'Empty', 30_000, 200);
      for (const topic of [world.env.topics.transactions, world.env.topics.scores]) {
        await admin.setOffsets({ groupId, topic, partitions: [0, 1, 2, 3].map((partition) => ({ partition, offset: '0' })) });
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Every archived row of a dataset, read back from the committed segments' objects. */
  async function archivedRows(dataset: string) {
    const committed = (await segments()).filter((s) => s.committed && s.objects[0].startsWith(`${world.prefix}${dataset}/`));
    const rows: Array<Record<string, unknown> & { object: string }> = [];
    for (const segment of committed) {
      for (const object of segment.objects) rows.push(...(await readArchiveObject(world.store, object)).map((row) => ({ ...row, object })));
    }
    return { committed, rows };
  }

  it('writes each record once, partitioned by event hour and named by offset range; a crash mid-upload rewrites, never doubles', async () => {
    const archiveEnv = { ...world.env.env, ARCHIVE_SEGMENT_EVENTS: '400', ARCHIVE_SEGMENT_MAX_AGE_MS: '300' };
    const consumer = await consumerProcess(world.env.env);
    let archiver = await archiverProcess(archiveEnv);
    // The kill lands between a segment's claim and its commit: proven once the process is dead
    // by a pending segment in the manifest. If it landed elsewhere, the archiver restarts and the
    // test aims again while the stream still arrives.
    const kills: Array<{ pending: number; committed: number }> = [];
    const slices = 10;
    const size = Math.ceil(records.length / slices);
    for (let i = 0; i < slices; i++) {
      await world.env.produce(records.slice(i * size, (i + 1) * size));
      if (i >= 2 && kills.length === 0) {
        for (let attempt = 1; kills.length === 0; attempt++) {
          await waitFor('a segment being written', async () => (await segments()).some((s) => !s.committed), 30_000, 1).catch(() => undefined);
          expect(await archiver.kill('SIGKILL')).toBe('SIGKILL');
          const after = await segments();
          const pending = after.filter((s) => !s.committed).length;
          if (pending > 0) kills.push({ pending, committed: after.filter((s) => s.committed).length });
          else if (attempt === 8) throw new Error('eight kills all missed a segment upload');
          // Kafka's committed offsets of the group lost as well: the manifest alone says where each partition resumes.
          if (kills.length) await forgetKafkaOffsets();
          archiver = await archiverProcess(archiveEnv);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(kills[0].pending).toBeGreaterThan(0);

    try {
      await waitUntilArchived(world.env.topics.transactions);
      await waitUntilArchived(world.env.topics.scores);
    } finally {
      expect(await archiver.kill('SIGTERM')).toBe(0);
      expect(await consumer.kill('SIGTERM')).toBe(0);
    }

    // The manifest: per partition, committed segments tile the offsets from 0 with no gap or overlap, none pending.
    const manifest = await segments();
    expect(manifest.filter((s) => !s.committed)).toEqual([]);
    for (const topic of [world.env.topics.transactions, world.env.topics.scores]) {
      for (const partition of new Set(manifest.filter((s) => s.topic === topic).map((s) => s.partition))) {
        const own = manifest.filter((s) => s.topic === topic && s.partition === partition);
        expect(own[0].from).toBe(0);
        own.slice(1).forEach((segment, i) => {
          expect(segment.from).toBe(own[i].to);
        });
      }
    }
    // The bucket holds exactly the manifest's objects: what the crash left half-done was replaced or removed.
    expect(await world.store.list(world.prefix)).toEqual(manifest.flatMap((s) => s.objects).sort());

    // Transactions: every produced record exactly once (by content, so by event id too), each (partition, offset) once.
    const transactions = await archivedRows('transactions');
    expect(transactions.rows.length).toBe(records.length);
    expect(countOf(transactions.rows.map((row) => sha(row.value as Uint8Array)))).toEqual(countOf(records.map((record) => sha(record.value))));
    expect(new Set(transactions.rows.map((row) => `${row.partition}:${row.offset}`)).size).toBe(records.length);
    expect(records.filter((record) => record.value[0] === 0).length).toBeGreaterThan(500); // Avro among them
    const producedIds = messages
      .map((message) => decodeTransaction(message.value, message.key, 4096))
      .flatMap((decoded) => (decoded.ok ? [decoded.tx.eventId] : []));
    expect(countOf(transactions.rows.flatMap((row) => (row.event_id ? [row.event_id as string] : [])))).toEqual(countOf(producedIds));
    // Each segment's row count is what its objects hold.
    for (const segment of transactions.committed) expect(transactions.rows.filter((row) => segment.objects.includes(row.object)).length).toBe(segment.records);
    // Hive-style partitions by event hour (record time for events the contract refused), several hours here.
    const hourOf = (time: Date) => `date=${time.toISOString().slice(0, 10)}/hour=${time.toISOString().slice(11, 13)}`;
    for (const row of transactions.rows) {
      const time = (row.event_time ?? row.record_time) as Date;
      expect(row.object).toContain(`/${hourOf(time)}/`);
      expect(row.object).toMatch(
        new RegExp(`^${world.prefix}transactions/date=\\d{4}-\\d\\d-\\d\\d/hour=\\d\\d/${world.env.topics.transactions}\\+\\d\\+\\d{19}-\\d{19}\\.parquet$`),
      );
    }
    expect(new Set(transactions.rows.filter((row) => row.event_time).map((row) => hourOf(row.event_time as Date))).size).toBeGreaterThanOrEqual(2);
    expect(transactions.rows.filter((row) => row.dlq_reason !== null).length).toBe(records.length - producedIds.length);

    // Risk scores: the topic's records once each, every scored event among them, with the reference's scores.
    const scores = await archivedRows('risk-scores');
    expect(scores.rows.length).toBe(await endOffsetTotal(world.env.kafka, world.env.topics.scores));
    const byEvent = new Map(scores.rows.map((row) => [row.event_id as string, row.score as number]));
    expect(byEvent).toEqual(new Map([...reference.scores].map(([id, score]) => [id, score.score])));
  }, 240_000);
});

describe('replay from the archive after Kafka lost the events (real Kafka, Postgres, versitygw)', () => {
  const world = archiveWorld(4);
  const records = traffic(3_000, 32);
  const reference = referenceRun(records);

  const historyRows = async () =>
    (
      await world.env.services.db.sql.query<{ row: string }>(
        `SELECT row_to_json(r)::text AS row FROM (SELECT event_id, customer_id, score, band, factors, model_version, event_time, partition, "offset" FROM risk_scores ORDER BY event_id) r`,
      )
    ).map((r) => r.row);

  it('rebuilds the same states and history from the archived transactions alone', async () => {
    await world.env.produce(records);
    const consumer = await consumerProcess(world.env.env);
    const archiver = await archiverProcess({ ...world.env.env, ARCHIVE_SEGMENT_EVENTS: '500', ARCHIVE_SEGMENT_MAX_AGE_MS: '300' });
    try {
      await waitUntilConsumed(world.env);
      const end = await endOffsetTotal(world.env.kafka, world.env.topics.transactions);
      // Every record, not only every offset: a segment with a gap would cover offsets it does not hold.
      await waitFor(
        'the transactions archived',
        async () => {
          const [row] = await world.env.services.db.sql.query<{ n: number }>(
            `SELECT coalesce(sum(records), 0)::int AS n FROM archive_segments WHERE committed AND topic = $1`,
            [world.env.topics.transactions],
          );
          return row.n >= end;
        },
        60_000,
        100,
      );
    } finally {
      expect(await archiver.kill('SIGTERM')).toBe(0);
      expect(await consumer.kill('SIGTERM')).toBe(0);
    }
    expect(archiver.output()).not.toContain('records missing from Kafka');
    const live = await historyRows();
    expect(live.length).toBe(reference.scores.size);
    const liveStates = await storedStates(world.env.services, world.env.groupId);

    // Kafka's copy is gone (retention, or the topic deleted), and so is the history.
    const admin = world.env.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [world.env.topics.transactions] });
    await admin.disconnect();
    await world.env.services.db.sql.query(`DELETE FROM risk_scores`);

    const group = `${world.env.config.KAFKA_TOPIC_PREFIX}archive-replay`;
    const cli = runBuilt('bin/tollgraph.js', world.env.env, ['archive', 'replay', '--group', group, '--keep-state', '--json']);
    expect({ exited: await cli.exited, output: cli.output() }).toMatchObject({ exited: 0 });
    const report = JSON.parse(cli.output().trim().split('\n').pop()!);
    expect({ report, output: cli.output() }).toMatchObject({
      report: { groupId: group, scored: reference.scores.size, restored: reference.scores.size, changed: 0, missing: 0 },
    });
    // Row for row what the live consumer wrote, and every customer's state as the live run checkpointed it.
    expect(await historyRows()).toEqual(live);
    const replayed = await storedStates(world.env.services, group);
    expect(replayed.size).toBe(liveStates.size);
    expect(
      [...liveStates].filter(([customer, state]) => JSON.stringify(replayed.get(customer)) !== JSON.stringify(state)).map(([customer]) => customer),
    ).toEqual([]);
  }, 180_000);
});

describe('replay from an archive with gaps (real Postgres, versitygw)', () => {
  const world = archiveWorld(1);

  it('counts the offsets Kafka dropped before they were archived, and refuses a segment whose objects lost records', async () => {
    const messages = feedMessages(300, 41);
    const source = (offset: number) => ({
      partition: 0,
      offset,
      timestamp: Date.parse('2026-11-24T12:00:00Z') + offset,
      key: Buffer.from(messages[offset].key),
      value: messages[offset].value,
    });
    // Offsets 100-149 were gone from Kafka when the archiver reached them: its segment [100, 300) holds 150 records.
    const kept = [...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 150 }, (_, i) => 150 + i)];
    const writer = await directWriter(world.env.services.db.sql, world.store, world.prefix);
    const segment = (from: number, to: number) => ({
      topic: world.env.topics.transactions,
      partition: 0,
      dataset: transactionsDataset,
      fromOffset: from,
      toOffset: to,
      rows: kept.filter((offset) => offset >= from && offset < to).map((offset) => transactionsDataset.row(source(offset))),
    });
    // Three segments whose starts sort differently as text and as numbers ('100' < '60'), as a partition's do past offset 999.
    for (const [from, to] of [
      [0, 60],
      [60, 100],
      [100, 300],
    ])
      expect(await writer.write(segment(from, to))).toBe('committed');

    const reference = referenceRun(kept.map((offset) => ({ key: messages[offset].key, value: messages[offset].value })));
    const report = await replayFromArchive(world.env.services, world.store, { groupId: `${world.env.config.KAFKA_TOPIC_PREFIX}gaps` });
    expect(report).toMatchObject({ scored: reference.scores.size, missing: 50 });

    // An object that no longer holds what the manifest says (overwritten behind the archive's back).
    const manifestRows = await new ArchiveManifest(world.env.services.db.sql).segments('transactions');
    expect(manifestRows.map((row) => row.fromOffset)).toEqual([0, 60, 100]);
    const [manifestRow] = manifestRows;
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const rows = await readArchiveObject(world.store, manifestRow.objects[0]);
    const fewer = segment(0, 60)
      .rows.filter((row) => rows.some((r) => r.offset === row.values[1]))
      .slice(1);
    await world.store.put(manifestRow.objects[0], new Uint8Array(parquetWriteBuffer({ columnData: columnData(transactionsDataset, fewer) })));
    await expect(replayFromArchive(world.env.services, world.store, { groupId: `${world.env.config.KAFKA_TOPIC_PREFIX}damaged` })).rejects.toThrow(
      /^the archive is damaged: segment \S+ partition 0 \[0, 60\): the manifest lists 60 records, its objects hold 59$/,
    );
    // An object gone: named.
    await world.store.delete([manifestRow.objects[0]]);
    await expect(replayFromArchive(world.env.services, world.store, { groupId: `${world.env.config.KAFKA_TOPIC_PREFIX}lost` })).rejects.toThrow(
      `the archive is damaged: segment ${world.env.topics.transactions} partition 0 [0, 60): object ${manifestRow.objects[0]}:`,
    );
  });
});

describe('usage ledger archive, by closed hours (real Postgres, versitygw)', () => {
  const world = archiveWorld(1);

  it('writes each closed hour once, skips empty hours, and leaves the current hour for later', async () => {
    const HOUR = 3_600_000;
    const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
    // Two busy hours a day ago with two empty hours between them, and the hour now under way.
    const hours = [thisHour - 26 * HOUR, thisHour - 23 * HOUR, thisHour];
    const records = hours.flatMap((start, h) =>
      Array.from({ length: 20 + h * 5 }, (_, i) => ({
        requestId: `req-${h}-${i}`,
        accountId: randomUUID(),
        costUnits: 1 + (i % 3),
        occurredAt: new Date(start + i * 60_000),
      })),
    );
    await world.env.services.db.sql.query(
      `INSERT INTO usage_records (request_id, account_id, plan_code, operation, cost_units, occurred_at)
       SELECT r, a, 'FREE', 'riskScore', c, t FROM unnest($1::text[], $2::uuid[], $3::int[], $4::timestamptz[]) AS u(r, a, c, t)`,
      [records.map((r) => r.requestId), records.map((r) => r.accountId), records.map((r) => r.costUnits), records.map((r) => r.occurredAt)],
    );

    const archiver = await archiverProcess(world.env.env);
    let segments: Array<{ from: number; to: number; records: number; objects: string[] }> = [];
    try {
      await waitFor(
        'the closed hours archived',
        async () => {
          segments = (
            await world.env.services.db.sql.query<{ from: string; to: string; records: number; objects: string[] }>(
              `SELECT from_offset::text AS "from", to_offset::text AS "to", records, objects FROM archive_segments WHERE topic = 'usage_records' AND committed ORDER BY from_offset`,
            )
          ).map((row) => ({ ...row, from: Number(row.from), to: Number(row.to) }));
          return segments.reduce((sum, s) => sum + s.records, 0) >= 45;
        },
        60_000,
        100,
      );
    } finally {
      expect(await archiver.kill('SIGTERM')).toBe(0);
    }
    // The first busy hour, then the empty hours with the second busy one; not the hour under way.
    expect(segments.map((s) => [s.from, s.to, s.records])).toEqual([
      [hours[0], hours[0] + HOUR, 20],
      [hours[0] + HOUR, hours[1] + HOUR, 25],
    ]);
    const hourOf = (time: number) => `date=${new Date(time).toISOString().slice(0, 10)}/hour=${new Date(time).toISOString().slice(11, 13)}`;
    expect(segments.map((s) => s.objects)).toEqual([
      [`${world.prefix}usage/${hourOf(hours[0])}/usage_records+0+${String(hours[0]).padStart(19, '0')}-${String(hours[0] + HOUR).padStart(19, '0')}.parquet`],
      [
        `${world.prefix}usage/${hourOf(hours[1])}/usage_records+0+${String(hours[0] + HOUR).padStart(19, '0')}-${String(hours[1] + HOUR).padStart(19, '0')}.parquet`,
      ],
    ]);
    const archived = (await Promise.all(segments.flatMap((s) => s.objects).map((key) => readArchiveObject(world.store, key)))).flat();
    const expected = records.filter((r) => r.occurredAt.getTime() < thisHour);
    expect(
      archived
        .map((row) => [row.request_id, row.account_id, row.plan_code, row.operation, row.meter, row.cost_units, (row.occurred_at as Date).getTime()])
        .sort(),
    ).toEqual(expected.map((r) => [r.requestId, r.accountId, 'FREE', 'riskScore', 'api_cost_units', r.costUnits, r.occurredAt.getTime()]).sort());
  }, 120_000);
});
