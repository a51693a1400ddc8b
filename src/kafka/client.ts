import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../ops/logger';
import { registerKafkaLz4 } from './codecs';
import { fixRequestQueueSchedule } from './request-queue-fix';
import type { KafkaSecurity } from './security';

fixRequestQueueSchedule();
registerKafkaLz4();

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs with its logs in our pino stream (it logs INFO chatter we keep at debug), over TLS and
 * SASL as `security` says (kafkaSecurity(config); every caller passes it, so no client of the
 * process can end up plaintext beside secured ones).
 */
export function createKafka(brokers: string[], clientId: string, logger: Logger, security: KafkaSecurity): Kafka {
  const log = logger.child({ component: 'kafka' });
  const { sasl } = security;
  return new Kafka({
    clientId,
    brokers,
    ssl: security.tls,
    // kafkajs spells the mechanisms in lower case; the union keeps TypeScript's overloads happy
    sasl: sasl
      ? sasl.mechanism === 'PLAIN'
        ? { mechanism: 'plain', username: sasl.username, password: sasl.password }
        : sasl.mechanism === 'SCRAM-SHA-256'
          ? { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password }
          : { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password }
      : undefined,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 100 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: { message, ...extra } }: LogEntry) => {
        log[levels[level] ?? 'info'](extra, message);
      },
  });
}
