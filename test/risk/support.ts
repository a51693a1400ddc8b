import { TransactionFeed } from '../../src/feed/generator';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { prepareServices } from '../../src/app';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { createLogger } from '../../src/ops/logger';
import { decodeTransaction, toTransaction, type TransactionEvent } from '../../src/risk/contract';
import { ensureRiskTopics, riskGroupId, riskTopics, type RiskTopics } from '../../src/risk/kafka/topics';
import { assess } from '../../src/risk/model/score';
import { customerStates } from '../../src/risk/pipeline/state-codec';
import { loadGroupStates } from '../../src/risk/pipeline/store';
import { newCustomerState, type Channel, type CustomerState, type RiskFactor, type Transaction } from '../../src/risk/model/types';
import type { Services } from '../../src/services';
import { startWorkerProcess, waitFor } from '../support/process';
import { createThrowawayDatabase, serviceUrl, type ThrowawayDatabase } from '../support/throwaway-database';

export interface KafkaRecord {
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
  /** Set: sent to this partition, not the one its key hashes to. */
  partition?: number;
}

export interface ScoreSummary {
  score: number;
  band: string;
  factors: RiskFactor[];
}

/**
 * One test file's own world on the real services: a new Postgres database (migrated and seeded
 * by the production start-up code), a random Kafka topic prefix (topics created explicitly,
 * deleted afterwards), a random Redis key prefix.
 */
export interface RiskEnv {
  config: Config;
  services: Services;
  database: ThrowawayDatabase;
  topics: RiskTopics;
  groupId: string;
  /** Environment for a child process (`tollgraph risk consume`, a gateway) on the same world. */
  env: Record<string, string>;
  kafka: Kafka;
  /** Sends in order and waits for the broker (one partition's order is the send order). */
  produce(records: KafkaRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface TestTopics {
  kafka: Kafka;
  topics: RiskTopics;
  /** Sends in order and waits for the broker (one partition's order is the send order). */
  produce(records: KafkaRecord[]): Promise<void>;
  /** Disconnects and deletes the topics. */
  close(): Promise<void>;
}

/** The pipeline's topics under `prefix`, created explicitly, and a producer. */
export async function testTopics(config: Pick<Config, 'KAFKA_BROKERS' | 'KAFKA_TOPIC_PREFIX' | 'TRANSACTIONS_PARTITIONS'>): Promise<TestTopics> {
  const kafka = new Kafka({ clientId: 'tollgraph-test', brokers: config.KAFKA_BROKERS!, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = await ensureRiskTopics(admin, config, createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false })).catch(async (error) => {
    await admin.disconnect();
    throw error;
  });
  // Idempotent: a send kafkajs retries (a slow broker on a busy machine) must not put its records
  // on the topic twice; tests count what reaches the DLQ by source position.
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  return {
    kafka,
    topics,
    produce: async (records) => {
      for (let i = 0; i < records.length; i += 1000) {
        await producer.send({ topic: topics.transactions, acks: -1, messages: records.slice(i, i + 1000) });
      }
    },
    close: async () => {
      await producer.disconnect().catch(() => undefined);
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      const groups = (await admin.listGroups().catch(() => ({ groups: [] }))).groups
        .map((group) => group.groupId)
        .filter((id) => id.startsWith(config.KAFKA_TOPIC_PREFIX));
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/** Settings that isolate one test file on the shared broker and Redis. */
export function isolatedSettings(): Record<string, string> {
  const suffix = randomBytes(4).toString('hex');
  return {
    REDIS_URL: serviceUrl('REDIS_URL'),
    KAFKA_BROKERS: serviceUrl('KAFKA_BROKERS'),
    KAFKA_TOPIC_PREFIX: `tg-test-${suffix}-`,
    REDIS_KEY_PREFIX: `tg-test-${suffix}:`,
    TRANSACTIONS_PARTITIONS: '4',
    // A killed consumer's partitions move on after 6 s (the broker's minimum), not 10.
    RISK_SESSION_TIMEOUT_MS: '6000',
  };
}

export async function riskEnv(overrides: Record<string, string> = {}): Promise<RiskEnv> {
  const database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
  const env: Record<string, string> = { DATABASE_URL: database.url, ...isolatedSettings(), ...overrides };
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent', NODE_ENV: 'test' });
  let services: Services;
  try {
    services = await prepareServices(config, createLogger(config));
  } catch (error) {
    await database.drop();
    throw error;
  }
  const { kafka, topics, produce, close } = await testTopics(config).catch(async (error) => {
    await services.close();
    await database.drop();
    throw error;
  });
  return {
    config,
    services,
    database,
    topics,
    groupId: riskGroupId(config),
    env,
    kafka,
    produce,
    close: async () => {
      await close();
      await services.close();
      await database.drop();
    },
  };
}

/** A valid transaction of customer c-1 as the model reads it; any field but the derived ones may be given. */
export function sampleTransaction(fields: Partial<Omit<Transaction, 'time' | 'amountEur'>> & { timestamp: string }): Transaction {
  return toTransaction({
    eventId: '00000000-0000-4000-8000-000000000001',
    customerId: 'c-1',
    merchantId: 'm-1',
    mcc: '5411',
    amount: '10.00',
    currency: 'EUR',
    country: 'DE',
    channel: 'CARD_PRESENT',
    deviceId: 't-1',
    ...fields,
  });
}

export const record = (event: TransactionEvent): KafkaRecord => ({ key: event.customerId, value: Buffer.from(JSON.stringify(event)) });

/** Synthetic traffic with every fraud pattern, redeliveries and broken messages, the same on every run. */
export function traffic(count: number, seed: number, customers: number): KafkaRecord[] {
  const feed = new TransactionFeed({
    seed,
    customers,
    rate: 500,
    start: Date.parse('2026-11-24T10:00:00Z'),
    invalid: 0.002,
    duplicates: 0.01,
    cardTesting: 0.01,
    takeover: 0.005,
    spike: 0.01,
  });
  return Array.from({ length: count }, () => {
    const { key, value } = feed.next();
    return { key, value };
  });
}

/** The model run straight over the records, in order, with exact de-duplication: what the pipeline must end up with. */
export function referenceRun(records: KafkaRecord[], maxBytes = 4096) {
  const states = new Map<string, CustomerState>();
  const scores = new Map<string, ScoreSummary>();
  for (const { key, value } of records) {
    const decoded = decodeTransaction(value, key, maxBytes);
    if (!decoded.ok || scores.has(decoded.tx.eventId)) continue;
    let state = states.get(decoded.tx.customerId);
    if (!state) states.set(decoded.tx.customerId, (state = newCustomerState()));
    const { score, band, factors } = assess(state, decoded.tx);
    scores.set(decoded.tx.eventId, { score, band, factors });
  }
  return { states, scores };
}

export async function storedScores(services: Services, customerId?: string): Promise<Map<string, ScoreSummary>> {
  const rows = await services.db.sql.query<{ event_id: string; score: number; band: string; factors: RiskFactor[] }>(
    `SELECT event_id, score, band::text AS band, factors FROM risk_scores ${customerId ? 'WHERE customer_id = $1' : ''}`,
    customerId ? [customerId] : [],
  );
  return new Map(rows.map((row) => [row.event_id, { score: row.score, band: row.band, factors: row.factors }]));
}

export async function storedStates(services: Services, groupId: string): Promise<Map<string, CustomerState>> {
  return loadGroupStates(services.db.sql, groupId, customerStates);
}

export async function checkpointTotal(services: Services, groupId: string): Promise<number> {
  const [row] = await services.db.sql.query<{ total: string | null }>(`SELECT sum(next_offset)::text AS total FROM consumer_checkpoints WHERE group_id = $1`, [
    groupId,
  ]);
  return Number(row.total ?? 0);
}

/**
 * History rows past their partition's checkpoint: what the sinks wrote that no checkpoint covers yet.
 * Read after the consumer is dead, it is exactly the uncommitted work the crash left.
 */
export async function aheadOfCheckpoint(env: Pick<RiskEnv, 'services' | 'groupId' | 'topics'>): Promise<number> {
  const [row] = await env.services.db.sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM risk_scores r JOIN consumer_checkpoints c ON c.group_id = $1 AND c.topic = $2 AND c.partition = r.partition WHERE r."offset" >= c.next_offset`,
    [env.groupId, env.topics.transactions],
  );
  return row.n;
}

export async function endOffsetTotal(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, entry) => sum + Number(entry.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the group's checkpoints cover every message now in the topic. */
export async function waitUntilConsumed(env: RiskEnv, timeoutMs = 60_000, groupId = env.groupId): Promise<void> {
  const end = await endOffsetTotal(env.kafka, env.topics.transactions);
  await waitFor(`checkpoints of ${groupId} to reach ${end}`, async () => (await checkpointTotal(env.services, groupId)) >= end, timeoutMs, 50);
}

/** Every record of a topic from the beginning (the DLQ, risk-scores). */
export async function readTopic(kafka: Kafka, topic: string, expected: number, timeoutMs = 20_000) {
  const consumer = kafka.consumer({ groupId: `${topic}-reader-${randomBytes(4).toString('hex')}`, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  const out: Array<{ key: string | null; value: Buffer | null; headers: Record<string, string>; partition: number; offset: string }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
        out.push({ key: message.key?.toString() ?? null, value: message.value, headers, partition, offset: message.offset });
      },
    });
    await waitFor(`${expected} records on ${topic}`, async () => out.length >= expected, timeoutMs, 50);
    return out;
  } finally {
    await consumer.disconnect();
  }
}

/** `tollgraph risk consume` in a child process, with /metrics on a free port. */
export const consumerProcess = (env: Record<string, string>) => startWorkerProcess(['risk', 'consume'], env);

/** A counter's value from Prometheus text. */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The worked example of docs/risk-model.md: its events and the hand-computed scores. */
export function workedExample() {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'risk-model.md'), 'utf8');
  return doc
    .slice(doc.indexOf('## Worked example'))
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line))
    .map((line) => {
      const [n, time, channel, country, merchant, mcc, amount, device, score, band, factors] = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      const duplicateOf = /^duplicate of (\d+)$/.exec(score)?.[1];
      return {
        n: Number(n),
        duplicateOf: duplicateOf ? Number(duplicateOf) : undefined,
        event: {
          eventId: exampleEventId(duplicateOf ? Number(duplicateOf) : Number(n)),
          customerId: 'c-42',
          merchantId: merchant,
          mcc,
          amount,
          currency: 'EUR',
          country,
          channel: channel as Channel,
          deviceId: device,
          timestamp: `2026-11-24T${time}.000Z`,
        } satisfies TransactionEvent,
        score: Number(score),
        band,
        factors: factors === '—' ? [] : factors.split(', ').map((factor) => [factor.split(' ')[0], Number(factor.split(' ')[1])] as const),
      };
    });
}

export const exampleEventId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export { riskTopics };
