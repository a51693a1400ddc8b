import { randomUUID } from 'node:crypto';
import { createKafka } from '../../src/kafka/client';
import { PLAINTEXT } from '../../src/kafka/security';
import { createLogger } from '../../src/ops/logger';
import { runPartitionBatches, type BatchOutcome, type PartitionSlice } from '../../src/risk/kafka/batches';
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
  /** Three record batches of one event each: a fetch of at most one byte per partition returns one of them. */
  const topic = `partition-lanes-${randomUUID()}`;
  /** One record batch of four events. */
  const oneBatch = `partition-lanes-one-${randomUUID()}`;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [topic, oneBatch].map((name) => ({ topic: name, numPartitions: 1 })), waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 3; i++) await producer.send({ topic, messages: [{ key: 'k', value: String(i) }] });
    await producer.send({ topic: oneBatch, messages: [0, 1, 2, 3].map((i) => ({ key: 'k', value: String(i) })) });
    await producer.disconnect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic, oneBatch] }).catch(() => undefined);
    await admin.disconnect();
  });

  interface Consume {
    /** Sees every batch kafkajs hands over. */
    handed?: (firstOffset: string) => void;
    from?: string;
    groupId?: string;
    sliceEvents?: number;
    onRebalancing?: () => void;
  }

  /** Runs a consumer whose slices go through `process`. */
  async function consume(process: (slice: PartitionSlice) => Promise<BatchOutcome>, options: Consume = {}) {
    const single = (options.from ?? topic) === topic;
    const consumer = kafka.consumer({
      groupId: options.groupId ?? `partition-lanes-${randomUUID()}`,
      maxWaitTimeInMs: 100,
      ...(single && { maxBytesPerPartition: 1 }),
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      rebalanceTimeout: 20_000,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [options.from ?? topic], fromBeginning: true });
    // kafkajs' own events, emitted as it hands a batch to `eachBatch` and as it learns of a rebalance.
    consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => options.handed?.(String(payload.firstOffset)));
    consumer.on(consumer.events.REBALANCING, () => options.onRebalancing?.());
    const batches = await runPartitionBatches(consumer, { process, load: async () => 0 }, log, {
      fetchLingerMs: 0,
      run: { partitionsConsumedConcurrently: 1 },
      sliceEvents: options.sliceEvents,
    });
    return async () => {
      await consumer.disconnect();
      await batches.drain();
    };
  }

  const first = (slice: PartitionSlice) => slice.messages[0]?.offset;
  const last = (slice: PartitionSlice) => slice.messages.at(-1)?.offset;
  const span = (slice: PartitionSlice) => `${first(slice)}-${last(slice)}`;
  const done = (slice: PartitionSlice): BatchOutcome => ({ kind: 'done', nextOffset: Number(last(slice)) + 1 });
  it('fetches the next batch while one is processed, and processes a partition in order', async () => {
    let secondHanded!: () => void;
    const second = new Promise<void>((resolve) => (secondHanded = resolve));
    const processed: string[] = [];
    let stop: (() => Promise<void>) | undefined;
    const allDone = new Promise<void>((resolve) => {
      void consume(
        async (slice) => {
          processed.push(`start ${first(slice)}`);
          // Settles only if kafkajs fetched the next batch while this one is being processed.
          if (first(slice) === '0') await second;
          processed.push(`end ${first(slice)}`);
          if (last(slice) === '2') resolve();
          return done(slice);
        },
        {
          handed: (firstOffset) => {
            if (firstOffset === '1') secondHanded();
          },
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
      void consume(async (slice) => {
        processed.push(first(slice)!);
        if (first(slice) === '1' && !sought) {
          sought = true;
          // Long enough for the batch of offset 2 to be fetched and wait behind this one.
          await new Promise((wait) => setTimeout(wait, 300));
          return { kind: 'seek', offset: 0 };
        }
        if (sought && last(slice) === '2') resolve();
        return done(slice);
      }).then((stopper) => (stop = stopper));
    });
    try {
      await allDone;
      expect(processed).toEqual(['0', '1', '0', '1', '2']);
    } finally {
      await stop?.();
    }
  });

  it('processes a large batch in slices, in order', async () => {
    const processed: string[] = [];
    const handed: string[] = [];
    let stop: (() => Promise<void>) | undefined;
    const allDone = new Promise<void>((resolve) => {
      void consume(
        async (slice) => {
          processed.push(span(slice));
          if (last(slice) === '3') resolve();
          return done(slice);
        },
        { from: oneBatch, sliceEvents: 3, handed: (offset) => handed.push(offset) },
      ).then((stopper) => (stop = stopper));
    });
    try {
      await allDone;
      expect(handed).toEqual(['0']);
      expect(processed).toEqual(['0-2', '3-3']);
    } finally {
      await stop?.();
    }
  });

  it('stops a batch between slices at a rebalance; what follows is handed over again to the partition owner', async () => {
    const groupId = `partition-lanes-${randomUUID()}`;
    /** What the first member did, in order. */
    const firstMember: string[] = [];
    let rebalancing!: () => void;
    const rebalanced = new Promise<void>((resolve) => (rebalancing = resolve));
    const stops: Array<() => Promise<void>> = [];
    try {
      const allDone = new Promise<void>((resolve) => {
        const recording = (log?: string[]) => async (slice: PartitionSlice) => {
          log?.push(`slice ${span(slice)}`);
          // The first slice ends only once the first member knows of the rebalance the second one starts.
          if (first(slice) === '0') await rebalanced;
          if (last(slice) === '3') resolve();
          return done(slice);
        };
        const onRebalancing = () => {
          firstMember.push('rebalancing');
          rebalancing();
        };
        const handed = (offset: string) => void firstMember.push(`handed ${offset}`);
        void consume(recording(firstMember), { from: oneBatch, groupId, sliceEvents: 2, handed, onRebalancing })
          .then((stop) => stops.push(stop))
          .then(() => consume(recording(), { from: oneBatch, groupId, sliceEvents: 2 }))
          .then((stop) => stops.push(stop));
      });
      await allDone;
      expect(firstMember.slice(0, 3)).toEqual(['handed 0', 'slice 0-1', 'rebalancing']);
      // Without the stop, the first member would have gone on with 2-3 of the batch it had before the rebalance.
      expect(firstMember[3] ?? 'handed again').toMatch(/^handed/);
    } finally {
      for (const stop of stops) await stop();
    }
  }, 30_000);

  it('heartbeats while waiting for room in a lane, so a busy member learns of a rebalance', async () => {
    const groupId = `partition-lanes-${randomUUID()}`;
    let rebalancing!: () => void;
    const rebalanced = new Promise<void>((resolve) => (rebalancing = resolve));
    let secondHanded!: () => void;
    const second = new Promise<void>((resolve) => (secondHanded = resolve));
    const stops: Array<() => Promise<void>> = [];
    try {
      // The first batch's slice ends once the member knows of the rebalance (or after 10 s); the second batch waits behind it.
      stops.push(
        await consume(
          async (slice) => {
            if (first(slice) === '0') await Promise.race([rebalanced, new Promise((resolve) => setTimeout(resolve, 10_000))]);
            return done(slice);
          },
          { groupId, onRebalancing: rebalancing, handed: (offset) => offset === '1' && secondHanded() },
        ),
      );
      await second;
      stops.push(await consume(async (slice) => done(slice), { groupId }));
      const learnt = await Promise.race([
        rebalanced.then(() => 'rebalancing'),
        new Promise((resolve) => setTimeout(() => resolve('nothing within 8 s'), 8_000)),
      ]);
      expect(learnt).toBe('rebalancing');
    } finally {
      for (const stop of stops) await stop();
    }
  }, 30_000);
});
