import { extname, join } from 'node:path';
import { CallThread } from '../ops/call-thread';
import type { Logger } from '../ops/logger';
import { packRecords } from './packed-records';
import type { KafkaRecord, RecordCompression, RecordProducer } from './record-producer';
import type { KafkaSecurityConfig } from './security';

/** What the thread is started with (src/kafka/producer-thread-worker.ts): createRecordProducer's arguments. */
export interface ProducerThreadData {
  brokers: string[];
  clientId: string;
  topics: string[];
  /** The settings, not the client options: TLS files are read on the thread. */
  security: KafkaSecurityConfig;
  compression: RecordCompression;
}

/** Connect and learn the topics' leaders, or send records to a topic. */
export type ProducerCall = { connect: true } | { topic: string; records: Uint8Array };

const WORKER_FILE = join(__dirname, `producer-thread-worker${extname(__filename)}`);

/**
 * A RecordProducer (createRecordProducer) on a thread of its own: the calling thread packs each
 * send's records into one run of bytes (packRecords) and hands it over; the thread makes the
 * records, encodes and compresses their record batches and waits for the brokers. On the risk
 * consumer, whose main thread is its limit, the risk-scores topic cost that thread the producer's
 * CPU (4-6 µs per event on the ingestion probe, measured by leaving the topic out) and the
 * collection of what the producer keeps until the brokers answer. A send resolves once every
 * in-sync replica has the records, as on the calling thread; a thread that fails fails the sends
 * it held (the pipeline then goes back to the last checkpoint, as for any failed sink).
 */
export class ProducerThread extends CallThread<ProducerCall, null> implements RecordProducer {
  constructor(data: ProducerThreadData, logger: Logger) {
    super(WORKER_FILE, data, 'the producer thread', logger);
  }

  send(topic: string, records: KafkaRecord[]): Promise<void> {
    const packed = packRecords(records);
    return this.call({ topic, records: packed }, [packed.buffer as ArrayBuffer]).then(() => undefined);
  }

  /** Like createRecordProducer: a broker or topic that is missing fails here, not at the first send. */
  async connect(): Promise<void> {
    await this.call({ connect: true });
  }
}

/** A producer thread, connected. */
export async function startProducerThread(data: ProducerThreadData, logger: Logger): Promise<ProducerThread> {
  const thread = new ProducerThread(data, logger);
  try {
    await thread.connect();
    return thread;
  } catch (error) {
    await thread.close();
    throw error;
  }
}
