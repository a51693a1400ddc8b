import type { Sql } from '../../src/db/sql';
import { GroupCommit, type PreparedBatch } from '../../src/risk/pipeline/group-commit';
import { NO_OUTPUTS, type BatchOutputs } from '../../src/risk/pipeline/outputs';
import type { RiskScoreView } from '../../src/risk/view';

/**
 * How the risk pipeline's batches share rounds of sinks (the risk-scores topic, the DLQ and one
 * history statement per round): a live run lets a batch wait up to RISK_SINK_LINGER_MS for the
 * next fetches' batches, so that a caught-up consumer (a few events per partition and fetch) does
 * not pay a history statement and a produce request per fetch. The batches here carry scores for
 * the topic and no history rows, so the rounds are counted by what the topic sink is sent.
 */
describe('rounds of sinks (GroupCommit)', () => {
  const noDatabase = {} as Sql;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  function committer(lingerMs: number, maxWaiting = 4) {
    const rounds: number[] = [];
    /** The scores the topic sink was sent, in order: partition:sequence. */
    const sent: string[] = [];
    const sequences = new Map<number, number>();
    const group = new GroupCommit({
      sql: noDatabase,
      mode: 'live',
      lingerMs,
      maxWaiting,
      outputs: {
        ...NO_OUTPUTS,
        beforeCommit: async ({ scores }: BatchOutputs) => {
          rounds.push(scores.length);
          for (const view of scores) sent.push(view.eventId);
        },
      },
    });
    const commit = (partition: number, scores: number) => {
      const batch: PreparedBatch = {
        topic: 'transactions',
        partition,
        history: [],
        outputs: {
          scores: Array.from({ length: scores }, () => {
            const sequence = sequences.get(partition) ?? 0;
            sequences.set(partition, sequence + 1);
            return { eventId: `${partition}:${sequence}` } as RiskScoreView;
          }),
          dlq: [],
        },
      };
      return group.commit(batch);
    };
    return { rounds, sent, commit };
  }

  it('lets the batches of later fetches join a round for RISK_SINK_LINGER_MS', async () => {
    const { rounds, commit } = committer(150);
    const began = performance.now();
    const committed = [commit(0, 1)];
    await sleep(20);
    committed.push(commit(1, 2));
    await sleep(20);
    committed.push(commit(0, 3), commit(2, 1));
    await Promise.all(committed);
    expect(rounds).toEqual([7]);
    expect(performance.now() - began).toBeGreaterThanOrEqual(140);
  });

  it('starts a round at once when a partition has maxWaiting batches waiting, so its scoring never stalls on the wait', async () => {
    const { rounds, commit } = committer(60_000, 3);
    const began = performance.now();
    await Promise.all([commit(5, 1), commit(6, 1), commit(5, 1), commit(5, 1)]);
    expect(rounds).toEqual([4]);
    expect(performance.now() - began).toBeLessThan(5_000);
  });

  it('without a linger, a round takes only the batches of one turn of the event loop', async () => {
    const { rounds, commit } = committer(0);
    const first = [commit(0, 1), commit(1, 1)];
    await sleep(20);
    await Promise.all([...first, commit(2, 1)]);
    expect(rounds).toEqual([2, 1]);
  });

  it('sends the batches that waited behind their partition round after round, each once and in order', async () => {
    const { rounds, sent, commit } = committer(10, 3);
    const committed: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      committed.push(commit(i % 3, 1));
      if (i % 7 === 0) await sleep(3);
    }
    await Promise.all(committed);
    expect(rounds.length).toBeGreaterThan(1);
    expect(sent).toHaveLength(30);
    for (const partition of [0, 1, 2]) {
      expect(sent.filter((id) => id.startsWith(`${partition}:`))).toEqual(Array.from({ length: 10 }, (_, i) => `${partition}:${i}`));
    }
  });
});
