import type { Producer } from '@platformatic/kafka' with { 'resolution-mode': 'import' };
import type { Config } from '../config/schema';
import { murmur2 } from './partitioner';
import type { KafkaSecurity } from './security';

/** One record to write: keyed records go to murmur2(key) mod partitions, as every Kafka client puts them. */
export interface KafkaRecord {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string>;
}

/** Writes records to a topic with acks=all; resolves once every in-sync replica has them. */
export interface RecordProducer {
  send(topic: string, records: KafkaRecord[]): Promise<void>;
  close(): Promise<void>;
}

type Data = string | Buffer | null;

/**
 * The codec of the record batches (Kafka's `compression.type`); `none` sends them as they are. Every
 * topic the streaming core writes uses RISK_SCORES_COMPRESSION, so each caller names its codec.
 */
export type RecordCompression = Config['RISK_SCORES_COMPRESSION'];

/**
 * The package's own `compatibilityPartitioner`, on our murmur2: the package computes it in BigInt
 * arithmetic, a few BigInts allocated per record (40,000 scores in rounds of 500: 4.3-4.6 against
 * 4.8-11.3 µs of CPU per record, 6 interleaved rounds).
 */
const javaPartitioner = (_message: unknown, key: Buffer | undefined) => (Buffer.isBuffer(key) ? murmur2(key) & 0x7fffffff : 0);

const bytes = (data?: Data): Buffer | undefined => (data === null || data === undefined ? undefined : typeof data === 'string' ? Buffer.from(data) : data);

/**
 * The producer of the pipeline's high-volume outputs (the risk-scores topic, the DLQ), on
 * @platformatic/kafka rather than kafkajs: writing a score cost kafkajs 10-16 µs of CPU in
 * isolation and about 25 µs inside the pipeline (a Buffer, a Long and an encoder per record,
 * then garbage the consumer's large heap pays for), against 5-7 µs here, which encodes each
 * record batch into one buffer and checksums it in WebAssembly (bench/ingestion.ts). Java's
 * partitioner (murmur2 & 0x7fffffff), so a customer's scores land on the partition any Kafka
 * client would choose. Not idempotent, like the kafkajs producer it replaces: a retried request
 * may write a record twice, which readers drop by event id.
 */
export async function createRecordProducer(
  brokers: string[],
  clientId: string,
  topics: string[],
  security: KafkaSecurity,
  compression: RecordCompression,
): Promise<RecordProducer> {
  const { Producer, ProduceAcks } = await import('@platformatic/kafka');
  const producer: Producer<Data, Data, Data, Data> = new Producer<Data, Data, Data, Data>({
    clientId,
    bootstrapBrokers: brokers,
    connectTimeout: 3000,
    retries: 5,
    retryDelay: 100,
    autocreateTopics: false,
    // the same TLS and SASL as the process's kafkajs clients (src/kafka/security.ts)
    tls: security.tls,
    sasl: security.sasl,
    partitioner: javaPartitioner,
    ...(compression === 'none' ? {} : { compression }),
    serializers: { key: bytes, value: bytes, headerKey: bytes, headerValue: bytes },
  });
  // Connect and learn the topics' leaders now: a broker or topic that is missing fails the start, not the first batch.
  await producer.metadata({ topics }).catch(async (error: unknown) => {
    await producer.close().catch(() => undefined);
    throw error;
  });
  return {
    async send(topic, records) {
      await producer.send({
        acks: ProduceAcks.ALL,
        messages: records.map((record) => ({ topic, key: record.key, value: record.value, headers: record.headers })),
      });
    },
    close: () => producer.close(),
  };
}
