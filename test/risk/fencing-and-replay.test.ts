import pino from 'pino';
import { Registry } from 'prom-client';
import type { Database } from '../../src/db/client';
import { TransactionFeed } from '../../src/feed/generator';
import { riskMetrics } from '../../src/risk/pipeline/metrics';
import { NO_OUTPUTS } from '../../src/risk/pipeline/outputs';
import { RiskPipeline, type BatchResult, type RawMessage } from '../../src/risk/pipeline/processor';
import { customerStates } from '../../src/risk/pipeline/state-codec';
import { loadPartition } from '../../src/risk/pipeline/store';
import { useMigratedDatabase } from '../support/throwaway-database';

/**
 * Two guarantees of the pipeline on real Postgres, each with pipelines built directly (no Kafka):
 * a consumer whose partition was taken over (fenced) writes no checkpoint and no state, and a
 * replay counts, and repairs, every history row that differs from what the model computes.
 */
describe('risk pipeline: fencing and replay differences (real Postgres)', () => {
  const scratch = useMigratedDatabase();
  let db: Database;
  beforeAll(() => (db = scratch()));
  const topic = 'transactions';

  const pipeline = (
    groupId: string,
    { owner = 'test', mode = 'live', checkpointIntervalMs = 0 }: { owner?: string; mode?: 'live' | 'replay'; checkpointIntervalMs?: number } = {},
  ) =>
    new RiskPipeline({
      sql: db.sql,
      outputs: NO_OUTPUTS,
      metrics: riskMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
      groupId,
      owner,
      maxEventBytes: 65_536,
      mode,
      provenance: true,
      checkpointIntervalMs,
      checkpointEvents: 100_000,
      checkpointLatest: false,
      sinkLingerMs: 20,
    });

  /** `count` valid messages of one partition, offsets from 0 (a seed of their own: event ids differ between tests). */
  const messagesOf = (seed: number, count: number): RawMessage[] => {
    const feed = new TransactionFeed({ seed, customers: 40, rate: 1_000, start: Date.parse('2026-11-24T10:00:00Z'), invalid: 0, duplicates: 0 });
    return Array.from({ length: count }, (_, offset) => {
      const { key, value } = feed.next();
      return { offset: String(offset), key, value };
    });
  };
  const eventIdsOf = (messages: RawMessage[]) => messages.map((message) => String((JSON.parse(message.value!.toString()) as { eventId: string }).eventId));

  const checkpointOf = async (groupId: string) =>
    (
      await db.sql.query<{ next_offset: string; owner: string }>(
        `SELECT next_offset::text AS next_offset, owner FROM consumer_checkpoints WHERE group_id = $1 AND topic = $2 AND partition = 0`,
        [groupId, topic],
      )
    ).map((row) => ({ nextOffset: Number(row.next_offset), owner: row.owner }));
  /** The partition's stored state chunks, each with a digest of its content. */
  const chunksOf = async (groupId: string) =>
    db.sql.query<{ id: string; to_offset: string; digest: string }>(
      `SELECT id::text AS id, to_offset::text AS to_offset, md5(data) AS digest FROM risk_state_chunks WHERE group_id = $1 AND topic = $2 AND partition = 0 ORDER BY id`,
      [groupId, topic],
    );
  const historyCount = async (eventIds: string[]) =>
    Number((await db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM risk_scores WHERE event_id = ANY($1::text[])`, [eventIds]))[0].n);

  describe('a stale consumer, after another took its partition over', () => {
    it.each([
      ['after every batch', 0],
      ['in the background, when due (the live consumer)', 60_000],
    ])('checkpoints nothing, stores no state chunk and comes back fenced (checkpoints %s)', async (_how, checkpointIntervalMs) => {
      const groupId = `g-fenced-${checkpointIntervalMs}`;
      const messages = messagesOf(41 + checkpointIntervalMs, 90);
      const first = pipeline(groupId, { owner: 'first', checkpointIntervalMs });
      expect(await first.load(topic, 0)).toBe(0);
      expect(await first.processBatch(topic, 0, messages.slice(0, 30))).toMatchObject({ kind: 'done', nextOffset: 30 });
      await first.checkpointIdle(true);
      expect(await checkpointOf(groupId)).toEqual([{ nextOffset: 30, owner: 'first' }]);

      // A second consumer of the same group takes the partition over from that checkpoint and moves it on.
      const second = pipeline(groupId, { owner: 'second' });
      expect(await second.load(topic, 0)).toBe(30);
      expect(await second.processBatch(topic, 0, messages.slice(30, 60))).toMatchObject({ kind: 'done', nextOffset: 60 });
      expect(await checkpointOf(groupId)).toEqual([{ nextOffset: 60, owner: 'second' }]);
      const chunks = await chunksOf(groupId);
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.at(-1)!.to_offset).toBe('60');

      // The first, not told, goes on from where it was (30) with a batch of another length than the
      // second's, so that a checkpoint of its own would show as an offset of 45, and checkpoints it.
      const stale = await first.processBatch(topic, 0, messages.slice(30, 45));
      // Scored and sunk (idempotently) before its checkpoint found the partition moved; it is the next batch that is refused.
      expect(stale).toMatchObject({ kind: 'done', nextOffset: 45 });
      await first.checkpointIdle(true);
      expect(await checkpointOf(groupId)).toEqual([{ nextOffset: 60, owner: 'second' }]);
      expect(await chunksOf(groupId)).toEqual(chunks);
      // What a restore of the partition reads is still exactly the second's memory.
      expect((await loadPartition(db.sql, groupId, topic, 0, 0n, 'reader', customerStates)).states).toEqual(second.statesOf(topic, 0));

      // Its next batch (offsets no one has scored yet) is refused whole: fenced, back at the second's checkpoint, nothing written.
      const unscored = messages.slice(60, 75);
      const next: BatchResult = await first.processBatch(topic, 0, unscored);
      expect(next).toEqual({ kind: 'fenced', offset: 60 });
      expect(await historyCount(eventIdsOf(unscored))).toBe(0);
      expect(await checkpointOf(groupId)).toEqual([{ nextOffset: 60, owner: 'second' }]);
      expect(await chunksOf(groupId)).toEqual(chunks);
      // Reloaded from the checkpoint: it can go on from there exactly as the second would have.
      expect(first.position(topic, 0)).toBe(60);
      expect(first.statesOf(topic, 0)).toEqual(second.statesOf(topic, 0));
    });
  });

  it('a replay over the same events counts each tampered history row as changed, each missing one as restored, and puts them right', async () => {
    const messages = messagesOf(43, 200);
    const eventIds = eventIdsOf(messages);
    const live = pipeline('g-history-live');
    await live.load(topic, 0);
    for (let from = 0; from < messages.length; from += 50) expect((await live.processBatch(topic, 0, messages.slice(from, from + 50))).kind).toBe('done');

    type Row = { event_id: string; score: number; band: string; factors: Array<{ code: string }> };
    const history = () =>
      db.sql.query<Row>(`SELECT event_id, score, band::text AS band, factors FROM risk_scores WHERE event_id = ANY($1::text[]) ORDER BY event_id`, [eventIds]);
    const original = await history();
    expect(original.length).toBe(200);

    // Three rows tampered with, one way each (score, band, factors), and one row lost.
    const withFactors = original.filter((row) => row.factors.length > 0);
    expect(withFactors.length).toBeGreaterThanOrEqual(2);
    const [scoreRow, factorsRow] = withFactors;
    const bandRow = original.find((row) => row !== scoreRow && row !== factorsRow)!;
    const lostRow = original.find((row) => ![scoreRow, factorsRow, bandRow].includes(row))!;
    await db.sql.query(`UPDATE risk_scores SET score = CASE WHEN score >= 500 THEN score - 100 ELSE score + 100 END WHERE event_id = $1`, [scoreRow.event_id]);
    await db.sql.query(`UPDATE risk_scores SET band = (CASE WHEN band = 'HIGH' THEN 'LOW' ELSE 'HIGH' END)::"RiskBand" WHERE event_id = $1`, [
      bandRow.event_id,
    ]);
    await db.sql.query(`UPDATE risk_scores SET factors = '[]'::json WHERE event_id = $1`, [factorsRow.event_id]);
    await db.sql.query(`DELETE FROM risk_scores WHERE event_id = $1`, [lostRow.event_id]);
    expect(await history()).not.toEqual(original);

    /** A replay in a scratch group of its own, over the same batches: its differences, summed. */
    const replay = async (groupId: string) => {
      const run = pipeline(groupId, { mode: 'replay' });
      expect(await run.load(topic, 0)).toBe(0);
      const totals = { scored: 0, restored: 0, changed: 0 };
      for (let from = 0; from < messages.length; from += 50) {
        const result = await run.processBatch(topic, 0, messages.slice(from, from + 50));
        if (result.kind !== 'done') throw new Error(`replay batch at ${from}: ${JSON.stringify(result)}`);
        totals.scored += result.scored;
        totals.restored += result.restored;
        totals.changed += result.changed;
      }
      return totals;
    };
    expect(await replay('g-history-replay')).toEqual({ scored: 200, restored: 1, changed: 3 });
    expect(await history()).toEqual(original);
    // The history is right again: a second replay finds nothing to count.
    expect(await replay('g-history-replay-again')).toEqual({ scored: 200, restored: 0, changed: 0 });
  });
});
