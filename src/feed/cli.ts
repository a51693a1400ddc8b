import type { Command } from 'commander';
import type { Message } from 'kafkajs';
import { KeyHashPartitioner } from '../kafka/partitioner';
import { configOrExit } from '../cli/with-services';
import { createKafka } from '../kafka/client';
import { kafkaSecurity } from '../kafka/security';
import { checkKafka } from '../ops/startup-checks';
import { createLogger } from '../ops/logger';
import { stopTracing, traceSends, tracing } from '../ops/tracing';
import { ensureRiskTopics } from '../risk/kafka/topics';
import { avroShare, transactionsSchemaId } from './avro';
import { TransactionFeed, type FeedMessage } from './generator';

interface FeedCliOptions {
  rate: string;
  customers: string;
  duration?: string;
  count?: string;
  seed?: string;
  start?: string;
  pace: boolean;
  stdout?: boolean;
  invalid: string;
  duplicates: string;
  outOfOrder: string;
  late: string;
  avro?: string | boolean;
}

function number(name: string, value: string, min: number): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min) throw new Error(`--${name}: expected a number of at least ${min} (got "${value}")`);
  return parsed;
}

const TICK_MS = 20;
const MAX_SEND = 5_000;

export function registerFeedCommand(program: Command): void {
  program
    .command('feed')
    .description('produce synthetic card transactions (with injected fraud) to the transactions topic')
    .option('--rate <n>', 'events per second', '100')
    .option('--customers <m>', 'distinct customers (keep rate × 3600 / customers to a few per hour for realistic velocity)', '100000')
    .option('--duration <s>', 'seconds to run (default: until Ctrl-C)')
    .option('--count <n>', 'stop after this many messages (instead of --duration)')
    .option('--seed <n>', 'seed: the same seed, rate, customers and start give the same messages', String(Date.now() >>> 0))
    .option('--start <time>', 'event time of the first event (ISO); default now')
    .option('--no-pace', 'send as fast as possible (timestamps still advance 1/rate s per event)')
    .option('--stdout', 'print JSON lines instead of producing to Kafka')
    .option('--invalid <share>', 'share of messages that break the contract', '0')
    .option('--duplicates <share>', 'share of messages that repeat an earlier one (redeliveries)', '0.001')
    .option('--out-of-order <share>', 'share of events stamped up to 4 s in the past (within the watermark)', '0.005')
    .option('--late <share>', 'share of events stamped 10-120 s in the past (late)', '0.001')
    .option(
      '--avro [share]',
      "send this share of the valid events (all without a share) as Confluent-framed Avro, with the transactions schema's id from the catalog's registry (read through DATABASE_URL)",
    )
    .action(async (options: FeedCliOptions) => {
      const rate = number('rate', options.rate, 0.001);
      const start = options.start ? Date.parse(options.start) : Date.now();
      if (!Number.isFinite(start)) throw new Error(`--start: expected an ISO time (got "${options.start}")`);
      const avro = options.avro === undefined || options.avro === false ? 0 : options.avro === true ? 1 : number('avro', options.avro, 0);
      if (avro > 1) throw new Error(`--avro: expected a share between 0 and 1 (got "${options.avro}")`);
      if (avro && options.stdout) throw new Error('--avro writes binary messages: produce them to Kafka (leave out --stdout)');
      const total = options.count
        ? number('count', options.count, 1)
        : options.duration
          ? Math.round(number('duration', options.duration, 0) * rate)
          : Infinity;
      const feed = new TransactionFeed({
        seed: number('seed', options.seed ?? '0', 0),
        customers: number('customers', options.customers, 1),
        rate,
        start,
        invalid: number('invalid', options.invalid, 0),
        duplicates: number('duplicates', options.duplicates, 0),
        outOfOrder: number('out-of-order', options.outOfOrder, 0),
        late: number('late', options.late, 0),
      });

      let stop = false;
      process.once('SIGINT', () => (stop = true));
      process.once('SIGTERM', () => (stop = true));
      const began = Date.now();
      let sent = 0;
      const batch = (limit: number): FeedMessage[] => {
        const out: FeedMessage[] = [];
        while (out.length < limit && sent + out.length < total) out.push(feed.next());
        return out;
      };

      /** Sends what is due (all at once without --pace) until the count is reached or a signal stops it. */
      const pump = async (send: (messages: FeedMessage[]) => unknown): Promise<void> => {
        while (!stop && sent < total) {
          const due = options.pace ? Math.min(MAX_SEND, Math.floor(((Date.now() - began) / 1000) * rate) - sent) : MAX_SEND;
          if (due <= 0) {
            await new Promise((resolve) => setTimeout(resolve, TICK_MS));
            continue;
          }
          const messages = batch(due);
          await send(messages);
          sent += messages.length;
        }
      };

      if (options.stdout) {
        await pump((messages) => process.stdout.write(messages.map((message) => `${message.value.toString()}\n`).join('')));
        return;
      }

      const config = configOrExit();
      if (!config.KAFKA_BROKERS) throw new Error('KAFKA_BROKERS is not set (or use --stdout)');
      const toWire = avro ? avroShare(await transactionsSchemaId(config), avro, number('seed', options.seed ?? '0', 0)) : (message: FeedMessage) => message;
      const logger = createLogger({ LOG_LEVEL: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn', LOG_PRETTY: false });
      const kafka = createKafka(config.KAFKA_BROKERS, config.KAFKA_CLIENT_ID, logger, kafkaSecurity(config));
      await checkKafka(kafka, logger); // a refused certificate or password: one clear error, not five retries
      const admin = kafka.admin();
      await admin.connect();
      const topics = await ensureRiskTopics(admin, config, logger).finally(() => admin.disconnect());
      // Idempotent, as Kafka's own producers are by default: a send retried after an error (the
      // topics' leaders are still being elected just after they are created) is written once.
      const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: KeyHashPartitioner, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        await pump(async (messages) => {
          const out: Message[] = messages.map(toWire).map(({ key, value }) => ({ key, value }));
          const sent = tracing.on ? traceSends(topics.transactions, out) : undefined;
          await producer.send({ topic: topics.transactions, acks: -1, messages: out }).then(
            () => sent?.(),
            (error: unknown) => {
              sent?.(error);
              throw error;
            },
          );
        });
      } finally {
        await producer.disconnect();
        await stopTracing();
      }
      const seconds = (Date.now() - began) / 1000;
      process.stderr.write(
        `produced ${sent} messages to ${topics.transactions} in ${seconds.toFixed(1)} s (${Math.round(sent / Math.max(seconds, 0.001))}/s): ` +
          `${Object.entries(feed.counts)
            .map(([kind, n]) => `${kind} ${n}`)
            .join(', ')}\n`,
      );
    });
}
