import { Partitioners } from 'kafkajs';
import { waitFor } from '../support/process';
import { checkpointTotal, endOffsetTotal, readTopic, referenceRun, riskEnv, type RiskEnv, traffic } from './support';
import {
  dlqBySource,
  differences,
  distinctEvents,
  groupsOf,
  operatorProcess,
  refusedCount,
  storedViews,
  trickle,
  viewsAhead,
  waitUntilGroupConsumed,
} from './operator-support';

const WINDOWS: Array<[string, number]> = [
  ['1h', 3_600_000],
  ['24h', 86_400_000],
];
const DISPUTED_BY = ['IMPOSSIBLE_TRAVEL', 'CARD_TESTING', 'NEW_DEVICE'];

/**
 * The batch recomputation, apart from the operator: each distinct event's score from the model run
 * straight over the records (the reference the risk tests use), grouped by merchant; per window
 * as of the merchant's newest event, the transactions, volume and the HIGH/CRITICAL, CRITICAL
 * (decline proxy) and disputed-looking (MEDIUM or above with a sign of another card user) shares.
 */
function oracle(records: ReturnType<typeof traffic>) {
  const { scores } = referenceRun(records);
  const byMerchant = new Map<string, Array<{ time: number; cents: number; band: string; score: number; codes: string[] }>>();
  for (const tx of distinctEvents(records)) {
    const { score, band, factors } = scores.get(tx.eventId)!;
    const list = byMerchant.get(tx.merchantId) ?? [];
    list.push({ time: tx.time, cents: Math.round(tx.amountEur * 100), band, score, codes: factors.map((factor) => factor.code) });
    byMerchant.set(tx.merchantId, list);
  }
  const expected = new Map<string, unknown>();
  for (const [merchantId, events] of byMerchant) {
    const asOf = Math.max(...events.map((event) => event.time));
    const windows = WINDOWS.map(([window, ms]) => {
      const inside = events.filter((event) => event.time > asOf - ms);
      const highRisk = inside.filter((event) => event.band === 'HIGH' || event.band === 'CRITICAL').length;
      const declines = inside.filter((event) => event.band === 'CRITICAL').length;
      const disputes = inside.filter((event) => event.score >= 250 && event.codes.some((code) => DISPUTED_BY.includes(code))).length;
      const n = inside.length;
      return {
        window,
        transactions: n,
        volumeEur: inside.reduce((sum, event) => sum + event.cents, 0) / 100,
        highRisk,
        declines,
        disputes,
        highRiskShare: n ? highRisk / n : 0,
        declineShare: n ? declines / n : 0,
        disputeShare: n ? disputes / n : 0,
      };
    });
    expected.set(merchantId, { merchantId, asOf: new Date(asOf).toISOString(), windows });
  }
  return expected;
}

/** Repartition records by source position: how many are past the first stage's checkpoint, and how many positions were written twice. */
async function repartitionFigures(env: RiskEnv) {
  const records = await readTopic(env.kafka, env.topics.byMerchant, await endOffsetTotal(env.kafka, env.topics.byMerchant), 60_000);
  const checkpoints = await env.services.db.sql.query<{ partition: number; next_offset: string }>(
    `SELECT partition, next_offset::text AS next_offset FROM consumer_checkpoints WHERE group_id = $1`,
    [groupsOf(env, 'merchant-risk').repartition],
  );
  const at = new Map(checkpoints.map((row) => [row.partition, Number(row.next_offset)]));
  const positions = new Map<string, number>();
  let ahead = 0;
  for (const record of records) {
    let source: { sp: number; so: number };
    try {
      source = JSON.parse(record.value!.toString());
    } catch {
      continue; // the test's own malformed record
    }
    if (source.so >= (at.get(source.sp) ?? 0)) ahead++;
    const key = `${source.sp}:${source.so}`;
    positions.set(key, (positions.get(key) ?? 0) + 1);
  }
  return { ahead, written: records.length, twice: [...positions.values()].filter((n) => n > 1).length };
}

describe('merchant-risk operator through its repartition topic (real Kafka, Redis, Postgres)', () => {
  let env: RiskEnv;
  const records = traffic(12_000, 41, 400);
  const expected = oracle(records);
  const merchants = [...expected.keys()];

  beforeAll(async () => {
    env = await riskEnv({ TRANSACTIONS_PARTITIONS: '4', RISK_CHECKPOINT_INTERVAL_MS: '1500' });
  });
  afterAll(async () => env?.close());

  it('equals a batch recomputation after SIGKILLs between the repartition write and its checkpoint, and elsewhere', async () => {
    const groups = groupsOf(env, 'merchant-risk');
    // A record on the repartition topic that is not a scored transaction: DLQ, and the partition goes on.
    const producer = env.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: env.topics.byMerchant, acks: -1, messages: [{ key: 'm-broken', value: 'not a scored transaction', partition: 0 }] });
    await producer.disconnect();

    const kills: Array<{ point: string; repartitionAhead?: number; viewsAhead: number }> = [];
    const production = trickle(env, records, 40, 250, async (slice) => {
      if (slice === 39) await waitFor('the kills', async () => kills.length === 3, 240_000, 50);
    });

    // 1. Stage 1 wrote repartition records its checkpoint does not cover: aimed (a checkpoint just moved,
    //    then records written after it), measured exactly after the death, aimed again if it missed.
    for (let attempt = 1; kills.length === 0; attempt++) {
      const operator = await operatorProcess(env.env, 'merchant-risk');
      const moved = await checkpointTotal(env.services, groups.repartition!);
      await waitFor('a checkpoint of stage 1', async () => (await checkpointTotal(env.services, groups.repartition!)) > moved, 30_000, 5);
      const written = await endOffsetTotal(env.kafka, env.topics.byMerchant);
      await waitFor('repartition records after it', async () => (await endOffsetTotal(env.kafka, env.topics.byMerchant)) > written + 100, 30_000, 5);
      expect(await operator.kill('SIGKILL')).toBe('SIGKILL');
      const figures = await repartitionFigures(env);
      if (figures.ahead > 0) kills.push({ point: 'after a repartition write, before its checkpoint', repartitionAhead: figures.ahead, viewsAhead: 0 });
      else if (attempt === 5) throw new Error('five kills all landed on a stage 1 checkpoint');
    }
    // 2. Stage 2's views past its checkpoint.
    const killAt = async (point: string, when: () => Promise<boolean>) => {
      const operator = await operatorProcess(env.env, 'merchant-risk');
      await waitFor(`kill point "${point}"`, when, 30_000, 5).catch(() => undefined);
      expect(await operator.kill('SIGKILL')).toBe('SIGKILL');
      kills.push({ point, viewsAhead: await viewsAhead(env, 'merchant-risk', merchants) });
    };
    await killAt('stage 2 sinks past its checkpoint', async () => (await viewsAhead(env, 'merchant-risk', merchants)) > 20);
    await killAt('soon after a restart', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return true;
    });

    await production;
    const last = await operatorProcess(env.env, 'merchant-risk');
    try {
      await waitUntilGroupConsumed(env, groups.repartition!, env.topics.transactions, 120_000);
      await waitUntilGroupConsumed(env, groups.main, env.topics.byMerchant, 120_000);
    } finally {
      expect(await last.kill('SIGTERM')).toBe(0);
    }

    // The crash made the first stage write some source positions twice; the merchant figures count them once.
    const figures = await repartitionFigures(env);
    expect(figures.twice).toBeGreaterThan(0);
    const stored = await storedViews<Record<string, unknown>>(env, 'merchant-risk', merchants);
    const shown = new Map([...stored].map(([merchant, { key: _key, version: _version, ...view }]) => [merchant, view]));
    expect(differences(shown, expected)).toEqual({ expected: expected.size, stored: expected.size, wrong: 0, first: [] });

    // Refused transactions (stage 1) and the broken repartition record (stage 2) are on the DLQ with their reasons.
    // Every record produced once (an idempotent producer): each refused one has one position on the DLQ.
    expect(await endOffsetTotal(env.kafka, env.topics.transactions)).toBe(records.length);
    const refused = refusedCount(records);
    const dlq = await dlqBySource(env);
    const fromTransactions = new Map<string, number>();
    for (const { reason, sourceTopic } of dlq.values())
      if (sourceTopic === env.topics.transactions) fromTransactions.set(reason, (fromTransactions.get(reason) ?? 0) + 1);
    expect(fromTransactions).toEqual(refused);
    expect(dlq.get(`${env.topics.byMerchant}:0:0`)?.reason).toBe('MALFORMED');
  }, 600_000); // up to five aimed kills, two more, 240 s of production at most, then both stages catch up
});
