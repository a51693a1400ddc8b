import { Partitioners } from 'kafkajs';
import type { TransactionEvent } from '../../src/risk/contract';
import { startRiskConsumer, type RunningRiskConsumer } from '../../src/risk/kafka/consumer';
import { riskMetrics } from '../../src/risk/pipeline/metrics';
import { decodeLatest, latestKey, rankingKey } from '../../src/risk/view';
import { waitFor } from '../support/process';
import {
  readTopic,
  record,
  referenceRun,
  riskEnv,
  storedScores,
  storedStates,
  waitUntilConsumed,
  workedExample,
  type KafkaRecord,
  type RiskEnv,
} from './support';

/** The pipeline in this process, against the real broker, Redis and Postgres. */
describe('risk pipeline on real Kafka, Redis and Postgres', () => {
  let env: RiskEnv;
  let consumer: RunningRiskConsumer;

  beforeAll(async () => {
    env = await riskEnv({ TRANSACTIONS_PARTITIONS: '3' });
    consumer = await startRiskConsumer(env.services);
  });

  afterAll(async () => {
    await consumer?.stop();
    await env?.close();
  });

  /** Each partition's end offset (where its next record will be written). */
  const topicEnds = async (topic: string) => {
    const admin = env.kafka.admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, Number(entry.high)]));
    } finally {
      await admin.disconnect();
    }
  };

  const counter = async (name: 'eventsIn' | 'dlq', label: Record<string, string>) => {
    const metric = await riskMetrics(env.services.metrics.registry)[name].get();
    return metric.values.find((value) => Object.entries(label).every(([k, v]) => (value.labels as Record<string, unknown>)[k] === v))?.value ?? 0;
  };

  const event = (customerId: string, n: number, fields: Partial<TransactionEvent> = {}): TransactionEvent => ({
    eventId: `00000000-0000-4000-9000-${customerId.replace(/\D/g, '').padStart(4, '0')}${String(n).padStart(8, '0')}`,
    customerId,
    merchantId: 'm-1',
    mcc: '5411',
    amount: '20.00',
    currency: 'EUR',
    country: 'DE',
    channel: 'CARD_PRESENT',
    deviceId: 't-1',
    timestamp: new Date(Date.parse('2026-11-24T09:00:00Z') + n * 60_000).toISOString(),
    ...fields,
  });

  it('scores a known sequence exactly as computed by hand in docs/risk-model.md', async () => {
    const rows = workedExample();
    await env.produce(rows.map((row) => record(row.event)));
    await waitFor('the 16 scores of c-42', async () => (await storedScores(env.services, 'c-42')).size === 16, 30_000, 50);

    const stored = await storedScores(env.services, 'c-42');
    for (const row of rows.filter((r) => !r.duplicateOf)) {
      const score = stored.get(row.event.eventId)!;
      expect({ row: row.n, score: score.score, band: score.band, factors: score.factors.map((f) => [f.code, f.contribution]) }).toEqual({
        row: row.n,
        score: row.score,
        band: row.band,
        factors: row.factors,
      });
    }
    // The checkpointed state is the model's, and the latest score is the newest event's (row 15), not the late row 16's.
    // (States and event counts are written with the checkpoint, within a second.)
    await waitUntilConsumed(env);
    const reference = referenceRun(rows.map((row) => record(row.event)));
    expect((await storedStates(env.services, env.groupId)).get('c-42')).toEqual(reference.states.get('c-42'));
    const cached = await env.services.redis!.get(latestKey(env.config.REDIS_KEY_PREFIX, 'c-42'));
    expect(decodeLatest(cached!)).toMatchObject({ eventId: rows[14].event.eventId, score: 548, band: 'HIGH', eventTime: '2026-11-24T11:40:58.000Z' });
    expect(await env.services.redis!.zscore(rankingKey(env.config.REDIS_KEY_PREFIX), 'c-42')).toBe('548');
    // Every score also went to the risk-scores topic.
    const published = await readTopic(env.kafka, env.topics.scores, 16);
    expect(new Set(published.filter((r) => r.key === 'c-42').map((r) => JSON.parse(r.value!.toString()).eventId)).size).toBe(16);
    expect(await counter('eventsIn', { outcome: 'duplicate' })).toBeGreaterThanOrEqual(1);
    // Event-to-score latency and consumer lag are measured.
    const metrics = await env.services.metrics.registry.metrics();
    expect(metrics).toMatch(/^tollgraph_risk_event_to_score_seconds_count (1[6-9]|[2-9]\d|\d{3,})$/m);
    expect(metrics).toMatch(new RegExp(`^tollgraph_risk_consumer_lag\\{topic="${env.topics.transactions}",partition="\\d"\\} 0$`, 'm'));
  });

  it('sends malformed, oversized and schema-violating events to the DLQ with reasons and original bytes, and scores the valid ones around them', async () => {
    const customer = 'c-7001';
    const valid = [1, 2, 3, 4].map((n) => record(event(customer, n)));
    const broken: Array<{ record: KafkaRecord; reason: string }> = [
      { record: { key: customer, value: Buffer.from('{"eventId": "00000000-') }, reason: 'MALFORMED' },
      { record: { key: customer, value: Buffer.from(JSON.stringify({ ...event(customer, 10), merchantId: 'm'.repeat(5000) })) }, reason: 'OVERSIZED' },
      { record: { key: customer, value: Buffer.from(JSON.stringify({ ...event(customer, 11), amount: '-1.00' })) }, reason: 'SCHEMA_VIOLATION' },
      { record: { key: customer, value: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }, reason: 'MALFORMED' },
      { record: { key: 'c-someone-else', value: Buffer.from(JSON.stringify(event(customer, 12))) }, reason: 'KEY_MISMATCH' },
    ];
    const before = { schema: await counter('dlq', { reason: 'SCHEMA_VIOLATION' }), invalid: await counter('eventsIn', { outcome: 'invalid' }) };
    const sent = [valid[0], broken[0].record, broken[1].record, valid[1], broken[2].record, valid[2], broken[3].record, broken[4].record, valid[3]];
    // Where each record lands, worked out apart from the pipeline: the producer's own partitioner,
    // and each partition's end offset now (nothing else writes the topic meanwhile).
    const ends = await topicEnds(env.topics.transactions);
    const choose = Partitioners.DefaultPartitioner();
    const partitionMetadata = [...ends.keys()].map((partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    const landed = new Map<KafkaRecord, { partition: number; offset: number }>();
    for (const sentRecord of sent) {
      const partition = choose({ topic: env.topics.transactions, partitionMetadata, message: { key: sentRecord.key, value: sentRecord.value } });
      landed.set(sentRecord, { partition, offset: ends.get(partition)! });
      ends.set(partition, ends.get(partition)! + 1);
    }
    // The customer's records and the one keyed to someone else go to different partitions: a wrong partition would show.
    expect(landed.get(broken[4].record)!.partition).not.toBe(landed.get(broken[0].record)!.partition);
    await env.produce(sent);

    await waitFor('the 4 valid events to be scored', async () => (await storedScores(env.services, customer)).size === 4, 30_000, 50);
    const dead = await readTopic(env.kafka, env.topics.dlq, broken.length);
    expect(dead).toHaveLength(broken.length);
    for (const { record: original, reason } of broken) {
      const found = dead.find((r) => r.value?.equals(original.value));
      expect(found).toBeDefined();
      expect(found!.key).toBe(original.key);
      expect(found!.headers).toMatchObject({
        'dlq-reason': reason,
        'source-topic': env.topics.transactions,
        'dlq-detail': expect.any(String),
        'source-partition': String(landed.get(original)!.partition),
        'source-offset': String(landed.get(original)!.offset),
      });
    }
    expect(dead.find((r) => r.headers['dlq-reason'] === 'SCHEMA_VIOLATION')!.headers['dlq-detail']).toMatch(/^amount: expected a non-negative decimal/);
    await waitUntilConsumed(env);
    expect(await counter('dlq', { reason: 'SCHEMA_VIOLATION' })).toBe(before.schema + 1);
    expect(await counter('eventsIn', { outcome: 'invalid' })).toBe(before.invalid + 5);
  });

  it('does not change state or history for redelivered duplicates, however late they come', async () => {
    const customer = 'c-7002';
    const first = [1, 2, 3, 4, 5].map((n) => record(event(customer, n, { amount: `${10 * n}.00` })));
    await env.produce(first);
    await waitFor('5 scores', async () => (await storedScores(env.services, customer)).size === 5, 30_000, 50);
    const duplicatesBefore = await counter('eventsIn', { outcome: 'duplicate' });
    const historyBefore = await storedScores(env.services, customer);

    // Redelivered byte for byte, then one new event to know when they have been read.
    await env.produce([...first, record(event(customer, 6))]);
    await waitFor('the 6th score', async () => (await storedScores(env.services, customer)).size === 6, 30_000, 50);
    await waitUntilConsumed(env);
    expect(await counter('eventsIn', { outcome: 'duplicate' })).toBe(duplicatesBefore + 5);
    const history = await storedScores(env.services, customer);
    for (const [id, score] of historyBefore) expect(history.get(id)).toEqual(score);

    // A copy of an event the state has already forgotten (2 h older than the newest) is found in the history.
    const later = record(event(customer, 200));
    await env.produce([later, first[0], record(event(customer, 201))]);
    await waitFor('the 8th score', async () => (await storedScores(env.services, customer)).size === 8, 30_000, 50);
    await waitUntilConsumed(env);
    const state = (await storedStates(env.services, env.groupId)).get(customer)!;
    expect(state.floor).toBeGreaterThanOrEqual(Date.parse(event(customer, 1).timestamp));
    const reference = referenceRun([...first, record(event(customer, 6)), later, record(event(customer, 201))]);
    expect(state).toEqual(reference.states.get(customer));
    expect(state.n).toBe(8);
  });
});
