import pino from 'pino';
import { Registry } from 'prom-client';
import type { Database } from '../../src/db/client';
import { TransactionFeed } from '../../src/feed/generator';
import { riskMetrics } from '../../src/risk/pipeline/metrics';
import { NO_OUTPUTS, type RiskOutputs } from '../../src/risk/pipeline/outputs';
import { RiskPipeline, type RawMessage } from '../../src/risk/pipeline/processor';
import { customerStates } from '../../src/risk/pipeline/state-codec';
import { loadPartition } from '../../src/risk/pipeline/store';
import { useMigratedDatabase } from '../support/throwaway-database';

/**
 * The state checkpoint on real Postgres: chunks of the states that changed plus a rolling rewrite
 * of the others, so that a restore equals the memory at every checkpoint, the chunks stay few, and
 * no checkpoint writes the whole state at once.
 */
describe('risk state checkpoints (real Postgres)', () => {
  const scratch = useMigratedDatabase();
  let db: Database;
  beforeAll(() => (db = scratch()));
  const topic = 'transactions';

  const pipeline = (
    groupId: string,
    outputs: RiskOutputs = NO_OUTPUTS,
    checkpointIntervalMs = 0,
    onSinksFailed?: (topic: string, partition: number, offset: number) => void,
  ) =>
    new RiskPipeline({
      onSinksFailed,
      sql: db.sql,
      outputs,
      metrics: riskMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
      groupId,
      owner: 'test',
      maxEventBytes: 65_536,
      mode: 'live',
      provenance: true,
      checkpointIntervalMs,
      checkpointEvents: 100_000,
      checkpointLatest: false,
      sinkLingerMs: 20,
    });

  const chunks = async (groupId: string) =>
    (await db.sql.query<{ bytes: number }>(`SELECT octet_length(data) AS bytes FROM risk_state_chunks WHERE group_id = $1 ORDER BY id`, [groupId])).map(
      (row) => row.bytes,
    );

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
      const restored = await loadPartition(db.sql, groupId, topic, 0, 0n, 'other', customerStates);
      expect(restored.nextOffset).toBe(BigInt(offset));
      expect(restored.states).toEqual(memory);
      sizes.push(...(await chunks(groupId)).slice(-1));
      // The chunks a restore reads: the current rewrite cycle and the one before it (at most 60 checkpoints each).
      expect((await chunks(groupId)).length).toBeLessThanOrEqual(120);
    }
    const whole = customerStates.start();
    for (const [customerId, customer] of live.statesOf(topic, 0)!) customerStates.append(whole, customerId, customer);
    const state = customerStates.finish(whole)!.length;
    // Once the customers are known, a checkpoint writes a small part of the state.
    expect(Math.max(...sizes.slice(10))).toBeLessThan(state / 4);
    // Old chunks went: what is stored is about the state, not the whole history of chunks.
    const stored = (await chunks(groupId)).reduce((a, b) => a + b, 0);
    expect(stored).toBeLessThan(5 * state);
    expect(sizes.slice(10).reduce((a, b) => a + b, 0)).toBeGreaterThan(stored);
  });

  it('stores a chunk in exactly one form: its codec bytes or JSON text', async () => {
    const chunk = (states: string | null, data: Buffer | null) =>
      db.sql.query(`INSERT INTO risk_state_chunks (group_id, topic, partition, to_offset, states, data) VALUES ('g-form', 't', 0, 0, $1, $2)`, [states, data]);
    await expect(chunk(null, null)).rejects.toThrow(/risk_state_chunks_one_form/);
    await expect(chunk('[]', Buffer.from([1]))).rejects.toThrow(/risk_state_chunks_one_form/);
    await chunk('[]', null);
    await chunk(null, Buffer.from([1]));
    await db.sql.query(`DELETE FROM risk_state_chunks WHERE group_id = 'g-form'`);
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
    const restored = await loadPartition(db.sql, groupId, topic, 0, 0n, 'third', customerStates);
    expect(restored.states).toEqual(second.statesOf(topic, 0));
    expect((await chunks(groupId)).length).toBeLessThanOrEqual(120);
  });

  describe('while the sinks of earlier batches are still being written (live runs with a backlog)', () => {
    /** Events still in the partition after each batch: enough for a live run to score ahead of its sinks. */
    const BACKLOG = 10_000;
    const checkpointOf = async (groupId: string) =>
      Number(
        (await db.sql.query<{ next_offset: string }>(`SELECT next_offset::text AS next_offset FROM consumer_checkpoints WHERE group_id = $1`, [groupId]))[0]
          .next_offset,
      );
    /** History rows of these messages' events. */
    const historyOf = async (messages: RawMessage[]) => {
      const ids = messages.flatMap((message) => {
        try {
          return [String((JSON.parse(message.value!.toString()) as { eventId?: unknown }).eventId)];
        } catch {
          return [];
        }
      });
      return (await db.sql.query<{ event_id: string }>(`SELECT event_id FROM risk_scores WHERE event_id = ANY($1::text[])`, [ids])).map((row) => row.event_id);
    };
    const batchesOf = (seed: number, base: number, count: number, size: number): RawMessage[][] => {
      const feed = new TransactionFeed({ seed, customers: 200, rate: 1_000, start: Date.parse('2026-11-24T10:00:00Z'), invalid: 0.01, duplicates: 0.02 });
      let offset = base;
      return Array.from({ length: count }, () =>
        Array.from({ length: size }, () => {
          const { key, value } = feed.next();
          return { offset: String(offset++), key, value };
        }),
      );
    };

    it('scores the next batches meanwhile, but writes no checkpoint before the sinks it covers', async () => {
      const groupId = 'g-overlap';
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let calls = 0;
      const live = pipeline(groupId, { ...NO_OUTPUTS, beforeCommit: async () => void (calls++ === 0 && (await held)) }, 60_000);
      const base = await live.load(topic, 0);
      const batches = batchesOf(3, base, 2, 50);
      // Batch 1's sinks hang; batch 2 is scored all the same.
      expect((await live.processBatch(topic, 0, batches[0], BACKLOG)).kind).toBe('done');
      expect((await live.processBatch(topic, 0, batches[1], BACKLOG)).kind).toBe('done');
      expect(live.position(topic, 0)).toBe(base + 100);
      const stopping = live.checkpointIdle(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await checkpointOf(groupId)).toBe(base);
      release();
      await stopping;
      expect(await checkpointOf(groupId)).toBe(base + 100);
    });

    it('writes the states as they were at the checkpoint while the next batch changes them (copy-on-write)', async () => {
      const live = pipeline('g-copy-on-write', NO_OUTPUTS, 60_000);
      const base = await live.load(topic, 0);
      const [first, second] = batchesOf(6, base, 2, 300);
      await live.processBatch(topic, 0, first, 0);
      const atCheckpoint = structuredClone(new Map(live.statesOf(topic, 0)));
      // The chunk is serialised in later turns; the next batch changes its customers before that.
      const writing = live.checkpointIdle(true);
      await live.processBatch(topic, 0, second, 0);
      await writing;
      expect(await checkpointOf('g-copy-on-write')).toBe(base + 300);
      expect((await loadPartition(db.sql, 'g-copy-on-write', topic, 0, 0n, 'x', customerStates)).states).toEqual(atCheckpoint);
      // The second batch did change states the chunk holds (else this test proves nothing).
      const changed = [...atCheckpoint.keys()].filter(
        (customerId) => JSON.stringify(live.statesOf(topic, 0)!.get(customerId)) !== JSON.stringify(atCheckpoint.get(customerId)),
      );
      expect(changed.length).toBeGreaterThan(10);
      await live.checkpointIdle(true);
      expect((await loadPartition(db.sql, 'g-copy-on-write', topic, 0, 0n, 'x', customerStates)).states).toEqual(live.statesOf(topic, 0));
    });

    it('caught up, waits for the latest scores of a batch but not for its history round', async () => {
      const groupId = 'g-latest-first';
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const written: string[][] = [];
      const live = pipeline(
        groupId,
        { ...NO_OUTPUTS, writeLatest: async (views) => void written.push(views.map((view) => view.eventId)), beforeCommit: () => held },
        60_000,
      );
      const base = await live.load(topic, 0);
      const [batch] = batchesOf(4, base, 1, 50);
      // Nothing behind it: the batch returns once its latest scores are written, the round still hanging.
      expect((await live.processBatch(topic, 0, batch, 0)).kind).toBe('done');
      // One write: each customer's newest score of the batch.
      expect(written.length).toBe(1);
      expect(written[0].length).toBeGreaterThan(0);
      expect(written[0].length).toBe(new Set(written[0]).size);
      expect(await historyOf(batch)).toEqual([]);
      const stopping = live.checkpointIdle(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await checkpointOf(groupId)).toBe(base);
      release();
      await stopping;
      expect(await checkpointOf(groupId)).toBe(base + 50);
    });

    it('caught up, a failed latest-score write fails the batch, which is scored again from the last checkpoint', async () => {
      let failures = 1;
      const live = pipeline(
        'g-latest-failure',
        {
          ...NO_OUTPUTS,
          writeLatest: async () => {
            if (failures-- > 0) throw new Error('redis gone');
          },
        },
        60_000,
      );
      const base = await live.load(topic, 0);
      const [batch] = batchesOf(5, base, 1, 30);
      await expect(live.processBatch(topic, 0, batch, 0)).rejects.toThrow('redis gone');
      // The consumer fetches the batch again: the partition was reloaded from its checkpoint.
      const again = await live.processBatch(topic, 0, batch, 0);
      const reference = pipeline('g-latest-reference', undefined, 60_000);
      await reference.load(topic, 0);
      expect(again).toEqual(await reference.processBatch(topic, 0, batch, 0));
      expect(again).toMatchObject({ kind: 'done', nextOffset: base + 30 });
      expect(live.statesOf(topic, 0)).toEqual(reference.statesOf(topic, 0));
    });

    it('goes back to the last checkpoint when a sink fails after its batch was scored, and ends like a run without the failure', async () => {
      // The first sink round after the checkpoint fails.
      let armed = false;
      const failing = {
        ...NO_OUTPUTS,
        beforeCommit: async () => {
          if (!armed) return;
          armed = false;
          throw new Error('broker gone');
        },
        afterCommit: async () => undefined,
      };
      // As the consumer does: a failed sink makes it fetch again from the last checkpoint.
      let seekTo: number | undefined;
      const live = pipeline('g-sink-failure', failing, 60_000, (_topic, _partition, offset) => (seekTo = offset));
      const base = await live.load(topic, 0);
      const batches = batchesOf(5, base, 8, 40);
      const at = (offset: number) => batches.findIndex((batch) => Number(batch[0].offset) === offset);

      // Batches in order; after a seek, or a batch that comes back `fenced`, from that offset on.
      let next = 0;
      let fenced = 0;
      let seeks = 0;
      while (next < batches.length || seekTo !== undefined) {
        if (seekTo !== undefined) {
          next = at(seekTo);
          seekTo = undefined;
          seeks++;
          expect(next).toBe(2);
          continue;
        }
        const result = await live.processBatch(topic, 0, batches[next], BACKLOG);
        if (result.kind === 'done') {
          next++;
          if (next === 2 && seeks === 0) {
            await live.checkpointIdle(true); // a checkpoint before the failure
            armed = true;
          }
          if (next === batches.length) await live.checkpointIdle(true); // the last sinks land (or fail)
        } else {
          expect(result.kind).toBe('fenced');
          fenced++;
          next = at(result.offset);
          expect(next).toBe(2);
        }
      }
      expect(seeks).toBe(1);
      await live.checkpointIdle(true);
      expect(fenced).toBe(1);
      const rows = await historyOf(batches.flat());

      // The same batches without a failure, in a group of their own.
      const reference = pipeline('g-sink-reference', undefined, 60_000);
      await reference.load(topic, 0);
      let scored = 0;
      for (const batch of batches) {
        const result = await reference.processBatch(topic, 0, batch);
        if (result.kind === 'done') scored += result.scored;
      }
      await reference.checkpointIdle(true);
      expect(live.statesOf(topic, 0)).toEqual(reference.statesOf(topic, 0));
      expect((await loadPartition(db.sql, 'g-sink-failure', topic, 0, 0n, 'x', customerStates)).states).toEqual(reference.statesOf(topic, 0));
      expect(await checkpointOf('g-sink-failure')).toBe(base + 320);
      // Every scored event in the history once, none lost to the failed sink.
      expect(rows.length).toBe(scored);
    });
  });
});
