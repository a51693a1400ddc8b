import { randomUUID } from 'node:crypto';
import type { Batch } from 'kafkajs';
import { createKafka } from '../../src/kafka/client';
import { PLAINTEXT } from '../../src/kafka/security';
import { createLogger } from '../../src/ops/logger';
import { runPartitionBatches, type BatchOutcome } from '../../src/risk/kafka/batches';
import { serviceUrl } from '../support/throwaway-database';

/**
 * kafkajs fetches again only once every `eachBatch` of its last fetch has returned: the pipelines'
 * batches are processed in per-partition lanes, so the next fetch is under way while a batch is
 * processed, in order, with what waits behind a batch that asks for a seek dropped.
 */
describe('partition lanes (real Kafka)', () => {
  const brokers = serviceUrl('KAFKA_BROKERS').split(',');
  const log = createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false });
  const kafka = createKafka(brokers, 'partition-lanes-test', log, PLAINTEXT);
  const admin = kafka.admin();
  const topic = `partition-lanes-${randomUUID()}`;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    // One record batch per send: a fetch of at most one byte per partition returns one of them.
    for (let i = 0; i < 3; i++) await producer.send({ topic, messages: [{ key: 'k', value: String(i) }] });
    await producer.disconnect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  /** Runs a consumer of the topic whose batches go through `process`; `handed` sees every batch kafkajs hands over. */
  async function consume(process: (batch: Batch) => Promise<BatchOutcome>, handed: (firstOffset: string) => void = () => undefined) {
    const consumer = kafka.consumer({ groupId: `partition-lanes-${randomUUID()}`, maxBytesPerPartition: 1, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    // kafkajs' own event, emitted as it hands a batch to `eachBatch`.
    consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => handed(String(payload.firstOffset)));
    const batches = await runPartitionBatches(consumer, { process, load: async () => 0 }, log, {
      fetchLingerMs: 0,
      run: { partitionsConsumedConcurrently: 1 },
    });
    return async () => {
      await consumer.disconnect();
      await batches.drain();
    };
  }

  const done = (batch: Batch): BatchOutcome => ({ kind: 'done', nextOffset: Number(batch.lastOffset()) + 1 });

  it('fetches the next batch while one is processed, and processes a partition in order', async () => {
    let secondHanded!: () => void;
    const second = new Promise<void>((resolve) => (secondHanded = resolve));
    const processed: string[] = [];
    let stop: (() => Promise<void>) | undefined;
    const allDone = new Promise<void>((resolve) => {
      void consume(
        async (batch) => {
          processed.push(`start ${batch.firstOffset()}`);
          // Settles only if kafkajs fetched the next batch while this one is being processed.
          if (batch.firstOffset() === '0') await second;
          processed.push(`end ${batch.firstOffset()}`);
          if (batch.lastOffset() === '2') resolve();
          return done(batch);
        },
        (firstOffset) => {
          if (firstOffset === '1') secondHanded();
        },
      ).then((stopper) => (stop = stopper));
    });
    try {
      await allDone;
      expect(processed).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    } finally {
      await stop?.();
    }
  });

  it('drops what waits behind a batch that asks for a seek, and goes on from the offset sought', async () => {
    const processed: string[] = [];
    let sought = false;
    let stop: (() => Promise<void>) | undefined;
    const allDone = new Promise<void>((resolve) => {
      void consume(async (batch) => {
        processed.push(batch.firstOffset()!);
        if (batch.firstOffset() === '1' && !sought) {
          sought = true;
          // Long enough for the batch of offset 2 to be fetched and wait behind this one.
          await new Promise((wait) => setTimeout(wait, 300));
          return { kind: 'seek', offset: 0 };
        }
        if (sought && batch.lastOffset() === '2') resolve();
        return done(batch);
      }).then((stopper) => (stop = stopper));
    });
    try {
      await allDone;
      expect(processed).toEqual(['0', '1', '0', '1', '2']);
    } finally {
      await stop?.();
    }
  });
});
