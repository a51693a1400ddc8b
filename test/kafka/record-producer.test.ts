import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { createKafka } from '../../src/kafka/client';
import { startProducerThread } from '../../src/kafka/producer-thread';
import { createRecordProducer, type RecordProducer } from '../../src/kafka/record-producer';
import { kafkaSecuritySettings, PLAINTEXT } from '../../src/kafka/security';
import { loadConfig } from '../../src/config/load';
import { KeyHashPartitioner } from '../../src/kafka/partitioner';
import { createLogger } from '../../src/ops/logger';
import { serviceUrl } from '../support/throwaway-database';

/**
 * The pipeline's outputs go through @platformatic/kafka while everything else (the feed, tests,
 * readers) uses kafkajs: a customer's scores must land on the partition every other client
 * would choose for its key, with their headers and bytes intact.
 */
describe('record producer (real Kafka)', () => {
  const brokers = serviceUrl('KAFKA_BROKERS').split(',');
  const kafka = createKafka(brokers, 'record-producer-test', createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }), PLAINTEXT);
  const admin = kafka.admin();
  const topic = `record-producer-${randomUUID()}`;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 10 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  const logger = createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false });
  /** The risk consumer's producer runs on a thread of its own (src/kafka/producer-thread.ts): the same records must come out. */
  const onThread = (topics: string[]) =>
    startProducerThread(
      {
        brokers,
        clientId: 'record-producer-test',
        topics,
        security: kafkaSecuritySettings(loadConfig({ KAFKA_BROKERS: brokers.join(',') })),
        compression: 'none',
      },
      logger,
    );
  const producers: Array<[string, () => Promise<RecordProducer>]> = [
    ['on the calling thread', () => createRecordProducer(brokers, 'record-producer-test', [topic], PLAINTEXT, 'none')],
    ['on a thread of its own', () => onThread([topic])],
  ];

  it.each(producers)('writes keyed records where the Java partitioner puts them, with headers and binary values (%s)', async (_, start) => {
    const producer = await start();
    // Keys of this run's own: the other producer writes to the same topic.
    const run = randomUUID().slice(0, 8);
    const keys = Array.from({ length: 200 }, (_, i) => `c-${run}-${i}-${randomUUID().slice(0, i % 13)}`);
    const binary = Buffer.from([0, 255, 1, 254]);
    try {
      await producer.send(
        topic,
        keys.map((key, i) => ({ key, value: i === 0 ? binary : `{"n":${i}}`, headers: i % 2 ? { traceparent: `t-${i}` } : undefined })),
      );
    } finally {
      await producer.close();
    }

    const consumer = kafka.consumer({ groupId: `record-producer-${randomUUID()}` });
    const seen = new Map<string, { partition: number; message: KafkaMessage }>();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.set(message.key!.toString(), { partition, message });
          if (keys.every((key) => seen.has(key))) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();

    const choose = KeyHashPartitioner();
    const metadata = Array.from({ length: 10 }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    const misplaced = keys.filter((key) => seen.get(key)!.partition !== choose({ topic, partitionMetadata: metadata, message: { key, value: null } }));
    expect(misplaced).toEqual([]);
    expect(new Set(keys.map((key) => seen.get(key)!.partition)).size).toBe(10);
    expect(seen.get(keys[0])!.message.value).toEqual(binary);
    expect(seen.get(keys[5])!.message.value!.toString()).toBe('{"n":5}');
    expect(seen.get(keys[5])!.message.headers!.traceparent!.toString()).toBe('t-5');
    expect(seen.get(keys[4])!.message.headers).toEqual({});
  });

  it('on a thread of its own, fails to start on a topic the brokers do not have, and says why', async () => {
    const missing = `record-producer-missing-${randomUUID()}`;
    await expect(onThread([missing])).rejects.toThrow(`Unknown topic ${missing}`);
  });

  it.each(['lz4', 'gzip'] as const)('writes %s record batches that every kafkajs reader of the process reads back', async (compression) => {
    const compressed = `record-producer-${compression}-${randomUUID()}`;
    const plain = `record-producer-none-${randomUUID()}`;
    await admin.createTopics({ topics: [{ topic: compressed }, { topic: plain }], waitForLeaders: true });
    try {
      const scores = Array.from({ length: 300 }, (_, i) => ({
        key: `c-${i % 7}`,
        value: JSON.stringify({ customerId: `c-${i % 7}`, eventId: randomUUID(), score: i, band: 'LOW', factors: [] }),
      }));
      for (const [topicName, codec] of [
        [compressed, compression],
        [plain, 'none'],
      ] as const) {
        const producer = await createRecordProducer(brokers, 'record-producer-test', [topicName], PLAINTEXT, codec);
        await producer.send(topicName, scores).finally(() => producer.close());
      }
      // The broker keeps the batches as the producer compressed them.
      const offsets = await admin.fetchTopicOffsets(compressed);
      expect(offsets.map((offset) => offset.high)).toEqual(['300']);
      const sizes = await logSizes([compressed, plain]);
      expect(sizes[compressed]).toBeLessThan(sizes[plain] / 2);

      const consumer = kafka.consumer({ groupId: `record-producer-${randomUUID()}` });
      const values: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [compressed], fromBeginning: true });
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            values.push(message.value!.toString());
            if (values.length === scores.length) resolve();
          },
        });
      });
      await consumer.disconnect();
      expect(values).toEqual(scores.map((score) => score.value));
    } finally {
      await admin.deleteTopics({ topics: [compressed, plain] }).catch(() => undefined);
    }
  });

  /** Each topic's log size on the broker, in bytes (its one partition). */
  async function logSizes(topics: string[]): Promise<Record<string, number>> {
    const { Admin } = await import('@platformatic/kafka');
    const client = new Admin({ clientId: 'record-producer-test', bootstrapBrokers: brokers });
    try {
      const sizes: Record<string, number> = {};
      for (const { results } of await client.describeLogDirs({ topics: topics.map((name) => ({ name, partitions: [0] })) }))
        for (const { topics: described } of results) for (const { name, partitions } of described) sizes[name] = Number(partitions[0].partitionSize);
      return sizes;
    } finally {
      await client.close();
    }
  }

  it('fails at creation, not at the first send, when a topic does not exist', async () => {
    await expect(createRecordProducer(brokers, 'record-producer-test', [`missing-${randomUUID()}`], PLAINTEXT, 'none')).rejects.toThrow();
  });
});
