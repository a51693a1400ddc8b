import { replayRiskHistory } from '../../src/risk/kafka/replay';
import { runBuilt, waitFor } from '../support/process';
import {
  aheadOfCheckpoint,
  checkpointTotal,
  consumerProcess,
  endOffsetTotal,
  metricValue,
  referenceRun,
  riskEnv,
  storedScores,
  storedStates,
  waitUntilConsumed,
  type KafkaRecord,
  type RiskEnv,
  traffic,
} from './support';

/** Produces in slices, pausing between them, so consumers work while the stream is still arriving. */
async function trickle(env: RiskEnv, records: KafkaRecord[], slices: number, pauseMs: number, onSlice?: (slice: number) => Promise<void>) {
  const size = Math.ceil(records.length / slices);
  for (let i = 0; i < slices; i++) {
    await env.produce(records.slice(i * size, (i + 1) * size));
    await onSlice?.(i);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** JSON with sorted keys (jsonb does not keep the key order). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner) =>
    inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : 1))) : inner,
  );
}

function expectSameAsReference(stored: Map<string, unknown>, expected: Map<string, unknown>) {
  expect(stored.size).toBe(expected.size);
  const mismatches = [...expected]
    .filter(([id, value]) => canonical(stored.get(id)) !== canonical(value))
    .map(([id, value]) => ({ id, expected: value, stored: stored.get(id) }));
  expect({ count: mismatches.length, first: mismatches.slice(0, 2) }).toEqual({ count: 0, first: [] });
}

describe('risk consumer processes: crash, scale-out and replay (real Kafka, Redis, Postgres)', () => {
  describe('SIGKILL mid-stream, then restart', () => {
    let env: RiskEnv;
    const records = traffic(12_000, 11, 400);
    const reference = referenceRun(records);

    beforeAll(async () => {
      env = await riskEnv({ TRANSACTIONS_PARTITIONS: '4' });
    });
    afterAll(async () => env?.close());

    it('ends with the same state and history as a run without the crash', async () => {
      let consumer = await consumerProcess(env.env);
      // Where the kill landed, measured after the process died: checkpointed offsets, and history rows past them.
      let killed: { checkpoint: number; ahead: number; attempts: number } | undefined;
      await trickle(env, records, 12, 150, async (slice) => {
        if (killed || slice < 4) return;
        // The chosen point: after the outputs of some batches and before the checkpoint that covers them.
        // A checkpoint may land between the look and the kill; then the dead process shows nothing past
        // it, and the test restarts it and aims again.
        for (let attempts = 1; !killed; attempts++) {
          await waitFor(
            'outputs past a checkpoint',
            async () => (await checkpointTotal(env.services, env.groupId)) > 0 && (await aheadOfCheckpoint(env)) > 0,
            20_000,
            5,
          );
          expect(await consumer.kill('SIGKILL')).toBe('SIGKILL');
          const at = { checkpoint: await checkpointTotal(env.services, env.groupId), ahead: await aheadOfCheckpoint(env), attempts };
          if (at.ahead > 0) killed = at;
          else if (attempts === 5) throw new Error(`five kills all landed on a checkpoint: ${JSON.stringify(at)}`);
          else consumer = await consumerProcess(env.env);
        }
      });
      // Uncommitted work existed at the kill: scores in the history that no checkpoint covered.
      expect(killed!.ahead).toBeGreaterThan(0);
      expect(killed!.checkpoint).toBeGreaterThan(0);
      expect(killed!.checkpoint).toBeLessThan(records.length);

      const second = await consumerProcess(env.env);
      try {
        await waitUntilConsumed(env);
      } finally {
        expect(await second.kill('SIGTERM')).toBe(0);
      }
      expectSameAsReference(await storedScores(env.services), reference.scores);
      expectSameAsReference(await storedStates(env.services, env.groupId), reference.states);
    }, 240_000); // up to five aimed kills, each with a restart, then the catch-up

    /**
     * What the replay starts from, whether or not the crash test ran first (or finished): every record in
     * the topic (the crash test produces them in order, so the topic holds a prefix of them) and a live
     * consumer's checkpoints past all of them.
     */
    async function consumedLive() {
      const inTopic = await endOffsetTotal(env.kafka, env.topics.transactions);
      if (inTopic < records.length) await env.produce(records.slice(inTopic));
      if ((await checkpointTotal(env.services, env.groupId)) >= records.length) return;
      const live = await consumerProcess(env.env);
      try {
        await waitUntilConsumed(env);
      } finally {
        expect(await live.kill('SIGTERM')).toBe(0);
      }
    }

    it('replays from the start into a fresh group and reproduces the live scores exactly', async () => {
      await consumedLive();
      expectSameAsReference(await storedScores(env.services), reference.scores);
      const live = await storedScores(env.services);
      const liveRows = await env.services.db.sql.query<{ row: string }>(
        `SELECT row_to_json(r)::text AS row FROM (SELECT event_id, customer_id, score, band, factors, model_version, event_time, partition, "offset" FROM risk_scores ORDER BY event_id) r`,
      );

      // Over the intact history (the command, as an operator runs it): nothing differs.
      const group = `${env.config.KAFKA_TOPIC_PREFIX}replay-check`;
      const cli = runBuilt('bin/tollgraph.js', env.env, ['risk', 'replay', '--from', 'beginning', '--group', group, '--keep-state', '--json']);
      expect(await cli.exited).toBe(0);
      const check = JSON.parse(cli.output().trim().split('\n').pop()!);
      expect(check).toMatchObject({ groupId: group, scored: reference.scores.size, restored: 0, changed: 0 });
      expectSameAsReference(await storedStates(env.services, group), reference.states);

      // --from: state still built from the start, history rewritten from that event time on.
      const from = Date.parse('2026-11-24T10:00:12Z');
      const later =
        [...live.keys()].length -
        (await env.services.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM risk_scores WHERE event_time < $1`, [new Date(from).toISOString()]))[0]
          .n;
      await env.services.db.sql.query(`DELETE FROM risk_scores WHERE event_time >= $1`, [new Date(from).toISOString()]);
      const partial = await replayRiskHistory(env.services, { from });
      expect(partial).toMatchObject({ scored: reference.scores.size, restored: later, changed: 0 });
      expect(later).toBeGreaterThan(0);
      expectSameAsReference(await storedScores(env.services), live);

      // History lost: the replay rebuilds it, identical to what the live run wrote.
      await env.services.db.sql.query(`DELETE FROM risk_scores`);
      const rebuilt = await replayRiskHistory(env.services);
      expect(rebuilt).toMatchObject({ scored: reference.scores.size, restored: reference.scores.size, changed: 0 });
      expectSameAsReference(await storedScores(env.services), live);
      const replayedRows = await env.services.db.sql.query<{ row: string }>(
        `SELECT row_to_json(r)::text AS row FROM (SELECT event_id, customer_id, score, band, factors, model_version, event_time, partition, "offset" FROM risk_scores ORDER BY event_id) r`,
      );
      expect(replayedRows).toEqual(liveRows);
      // The replay's own state and checkpoints are gone unless kept.
      expect((await storedStates(env.services, rebuilt.groupId)).size).toBe(0);
    }, 180_000); // alone, it streams the records live first
  });

  describe('two consumer processes on 4 partitions', () => {
    let env: RiskEnv;
    const records = traffic(10_000, 12, 400);
    const reference = referenceRun(records);

    beforeAll(async () => {
      env = await riskEnv({ TRANSACTIONS_PARTITIONS: '4' });
    });
    afterAll(async () => env?.close());

    it('scores every event exactly once while the second one joins mid-stream', async () => {
      const a = await consumerProcess(env.env);
      let b: Awaited<ReturnType<typeof consumerProcess>> | undefined;
      try {
        await trickle(env, records, 10, 150, async (slice) => {
          if (slice !== 3) return;
          b = await consumerProcess(env.env);
          // Keep the stream coming until the group has rebalanced onto both processes.
          await waitFor('the second consumer to get partitions', async () => /"partitions":\[\d/.test(b!.output()), 30_000, 50);
        });
        await waitUntilConsumed(env);
        // Both took part, and together they counted each valid event once: no batch was committed twice.
        const scored = await Promise.all([a, b!].map(async (p) => metricValue(await p.metrics(), 'tollgraph_risk_events_total', 'outcome="scored"')));
        expect(scored[0]).toBeGreaterThan(0);
        expect(scored[1]).toBeGreaterThan(0);
        expect(scored[0] + scored[1]).toBe(reference.scores.size);
        const owners = await env.services.db.sql.query<{ owner: string }>(`SELECT DISTINCT owner FROM consumer_checkpoints WHERE group_id = $1`, [env.groupId]);
        expect(owners.length).toBe(2);
      } finally {
        await b?.kill('SIGTERM');
        await a.kill('SIGTERM');
      }
      expectSameAsReference(await storedScores(env.services), reference.scores);
      expectSameAsReference(await storedStates(env.services, env.groupId), reference.states);
    }, 180_000); // its own waits: 30 s for the rebalance, 60 s for the catch-up
  });
});
