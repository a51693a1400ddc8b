import avro from 'avsc';
import { TRANSACTION_AVRO_SCHEMA, TRANSACTIONS_SUBJECT } from '../../src/catalog/customer-risk-scores';
import { frame } from '../../src/catalog/registry/wire';
import { encodeTransactionAvro, RISK_SCORES_SUBJECT } from '../../src/risk/avro';
import type { TransactionEvent } from '../../src/risk/contract';
import { runBuilt } from '../support/process';
import { consumerProcess, readTopic, referenceRun, riskEnv, storedScores, storedStates, waitUntilConsumed, type KafkaRecord, type RiskEnv } from './support';

const ADMIN = { admin: true } as const;

/**
 * The consumer process on real Kafka, Postgres and Redis, fed by `tollgraph feed --avro 0.5`
 * (about half of the events in Confluent-framed Avro, the rest JSON, redeliveries in either
 * form), with scores produced in Avro (RISK_SCORES_FORMAT=avro): the same states and scores as
 * the model run over the all-JSON feed; framed messages it cannot read go to the DLQ.
 */
describe('a transactions topic mixing JSON and Avro', () => {
  let env: RiskEnv;

  beforeAll(async () => {
    env = await riskEnv({ RISK_SCORES_FORMAT: 'avro' });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('gives the same states and scores as all JSON, and sends unreadable Avro to the DLQ with its reason', async () => {
    const feedArgs = [
      '--count',
      '3000',
      '--rate',
      '300',
      '--customers',
      '60',
      '--seed',
      '17',
      '--start',
      '2026-11-24T10:00:00Z',
      '--no-pace',
      '--duplicates',
      '0.02',
    ];
    const asJson = runBuilt('bin/tollgraph.js', {}, ['feed', '--stdout', ...feedArgs]);
    expect(await asJson.exited).toBe(0);
    const jsonRecords: KafkaRecord[] = asJson
      .output()
      .trim()
      .split('\n')
      .map((line) => ({ key: (JSON.parse(line) as TransactionEvent).customerId, value: Buffer.from(line) }));

    const mixed = runBuilt('bin/tollgraph.js', env.env, ['feed', '--avro', '0.5', ...feedArgs]);
    expect(await mixed.exited).toBe(0);
    const { id } = await env.services.registry.lookup(ADMIN, TRANSACTIONS_SUBJECT, TRANSACTION_AVRO_SCHEMA);
    const stray: TransactionEvent = { ...(JSON.parse(jsonRecords[0].value.toString()) as TransactionEvent), eventId: '00000000-0000-4000-8000-00000000dead' };
    await env.produce([
      { key: stray.customerId, value: encodeTransactionAvro(999_999, stray) },
      { key: stray.customerId, value: frame(id, Buffer.from('garbage, not Avro')) },
    ]);

    // Deadlines, not waits: generous for a loaded machine.
    const onTopic = await readTopic(env.kafka, env.topics.transactions, jsonRecords.length + 2, 60_000);
    const avroShare = onTopic.filter((record) => record.value![0] === 0).length / onTopic.length;
    expect(avroShare).toBeGreaterThan(0.3);
    expect(avroShare).toBeLessThan(0.7);

    const consumer = await consumerProcess(env.env);
    try {
      await waitUntilConsumed(env, 90_000);
      const reference = referenceRun(jsonRecords);
      expect(reference.scores.size).toBeGreaterThan(2500);
      expect(await storedScores(env.services)).toEqual(reference.scores);
      expect(await storedStates(env.services, env.groupId)).toEqual(reference.states);

      const dlq = await readTopic(env.kafka, env.topics.dlq, 2, 60_000);
      expect(dlq.map((record) => [record.headers['dlq-reason'], record.headers['dlq-detail']])).toEqual([
        ['UNKNOWN_SCHEMA', 'schema id 999999 is not registered'],
        ['MALFORMED', expect.stringMatching(new RegExp(`^not Avro of schema ${id}: `))],
      ]);

      // Scores went out in Avro, with the score schema the consumer registered for the product.
      const published = await readTopic(env.kafka, env.topics.scores, reference.scores.size, 60_000);
      const scoreSchemaId = (await env.services.registry.version(ADMIN, RISK_SCORES_SUBJECT, 'latest')).id;
      const type = avro.Type.forSchema(JSON.parse(await env.services.registry.schemaById(ADMIN, scoreSchemaId)) as avro.Schema);
      const decoded = new Map(
        published.map((record) => {
          expect([record.value![0], record.value!.readInt32BE(1)]).toEqual([0, scoreSchemaId]);
          const score = type.fromBuffer(record.value!.subarray(5)) as { eventId: string; score: number; band: string; factors: unknown[] };
          return [score.eventId, { score: score.score, band: score.band, factors: JSON.parse(JSON.stringify(score.factors)) }];
        }),
      );
      expect(decoded).toEqual(reference.scores);
    } finally {
      await consumer.kill();
    }
  }, 240_000);
});
