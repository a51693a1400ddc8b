import pino from 'pino';
import { Registry } from 'prom-client';
import { openDatabase, type Database } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { TransactionFeed } from '../../src/feed/generator';
import { riskMetrics } from '../../src/risk/pipeline/metrics';
import { RiskPipeline, type RawMessage } from '../../src/risk/pipeline/processor';
import { loadPartition } from '../../src/risk/pipeline/store';
import { createThrowawayDatabase, serviceUrl, type ThrowawayDatabase } from '../support/throwaway-database';

/**
 * The state checkpoint on real Postgres: chunks of the states that changed plus a rolling rewrite
 * of the others, so that a restore equals the memory at every checkpoint, the chunks stay few, and
 * no checkpoint writes the whole state at once.
 */
describe('risk state checkpoints (real Postgres)', () => {
  let database: ThrowawayDatabase;
  let db: Database;
  const topic = 'transactions';

  beforeAll(async () => {
    database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
    db = await openDatabase({ url: database.url, poolSize: 4 });
    await applyMigrations(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const pipeline = (groupId: string) =>
    new RiskPipeline({
      sql: db.sql,
      outputs: { beforeCommit: async () => undefined, afterCommit: async () => undefined },
      metrics: riskMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
      groupId,
      owner: 'test',
      maxEventBytes: 65_536,
      mode: 'live',
      provenance: true,
      checkpointIntervalMs: 0,
      checkpointEvents: 100_000,
      checkpointLatest: false,
    });

  const chunks = async (groupId: string) =>
    (await db.sql.query<{ bytes: number }>(`SELECT length(states) AS bytes FROM risk_state_chunks WHERE group_id = $1 ORDER BY id`, [groupId])).map((row) => row.bytes);

  it('restores exactly the memory at every checkpoint, keeps the chunks few and never writes the whole state at once', async () => {
    const groupId = 'g-rolling';
    const live = pipeline(groupId);
    const feed = new TransactionFeed({ seed: 7, customers: 400, rate: 1_000, start: Date.parse('2026-11-24T10:00:00Z'), invalid: 0 });
    let offset = await live.load(topic, 0);
    const sizes: number[] = [];
    for (let batch = 0; batch < 120; batch++) {
      // Small batches after the first ones: a few customers change per checkpoint.
      const messages: RawMessage[] = Array.from({ length: batch < 5 ? 200 : 10 }, () => {
        const { key, value } = feed.next();
        return { offset: String(offset++), key, value };
      });
      const result = await live.processBatch(topic, 0, messages);
      expect(result.kind).toBe('done');
      const memory = live.statesOf(topic, 0)!;
      const restored = await loadPartition(db.sql, groupId, topic, 0, 0n, 'other');
      expect(restored.nextOffset).toBe(BigInt(offset));
      expect(restored.states).toEqual(memory);
      sizes.push(...(await chunks(groupId)).slice(-1));
      // The chunks a restore reads: the current rewrite cycle and the one before it (at most 60 checkpoints each).
      expect((await chunks(groupId)).length).toBeLessThanOrEqual(120);
    }
    const state = JSON.stringify([...live.statesOf(topic, 0)!]).length;
    // Once the customers are known, a checkpoint writes a small part of the state.
    expect(Math.max(...sizes.slice(10))).toBeLessThan(state / 4);
    // Old chunks went: what is stored is about the state, not the whole history of chunks.
    const stored = (await chunks(groupId)).reduce((a, b) => a + b, 0);
    expect(stored).toBeLessThan(5 * state);
    expect(sizes.slice(10).reduce((a, b) => a + b, 0)).toBeGreaterThan(stored);
  });

  it('restores a partition whose chunks were superseded mid-cycle by a restart, then keeps going', async () => {
    const groupId = 'g-restart';
    const feed = new TransactionFeed({ seed: 9, customers: 300, rate: 1_000, start: Date.parse('2026-11-24T10:00:00Z'), invalid: 0 });
    let offset = 0;
    const run = async (instance: RiskPipeline, batches: number) => {
      for (let batch = 0; batch < batches; batch++) {
        const messages: RawMessage[] = Array.from({ length: 25 }, () => {
          const { key, value } = feed.next();
          return { offset: String(offset++), key, value };
        });
        expect((await instance.processBatch(topic, 0, messages)).kind).toBe('done');
      }
    };
    const first = pipeline(groupId);
    await first.load(topic, 0);
    await run(first, 30);
    // A second process takes over from the checkpoint (mid-cycle) and goes on.
    const second = pipeline(groupId);
    expect(await second.load(topic, 0)).toBe(offset);
    expect(second.statesOf(topic, 0)).toEqual(first.statesOf(topic, 0));
    await run(second, 90);
    const restored = await loadPartition(db.sql, groupId, topic, 0, 0n, 'third');
    expect(restored.states).toEqual(second.statesOf(topic, 0));
    expect((await chunks(groupId)).length).toBeLessThanOrEqual(120);
  });
});
