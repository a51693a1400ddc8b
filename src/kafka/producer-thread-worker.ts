import { workerData } from 'node:worker_threads';
import { answerCalls } from '../ops/call-thread';
import { unpackRecords } from './packed-records';
import type { ProducerCall, ProducerThreadData } from './producer-thread';
import { createRecordProducer, type RecordProducer } from './record-producer';
import { kafkaSecurity } from './security';

/** The producer thread (ProducerThread): a record producer of its own, connected at the first call and again after a failed connection. */
const data = workerData as ProducerThreadData;
let producer: Promise<RecordProducer> | undefined;

function connected(): Promise<RecordProducer> {
  producer ??= createRecordProducer(data.brokers, data.clientId, data.topics, kafkaSecurity(data.security), data.compression).catch((error: unknown) => {
    producer = undefined;
    throw error;
  });
  return producer;
}

answerCalls(
  async (call: ProducerCall) => {
    const ready = await connected();
    if ('topic' in call) await ready.send(call.topic, unpackRecords(call.records));
    return null;
  },
  async () => (await producer)?.close(),
);
