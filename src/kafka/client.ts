import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../ops/logger';
import { fixRequestQueueSchedule } from './request-queue-fix';

fixRequestQueueSchedule();

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs with its logs in our pino stream (it logs INFO chatter we keep at debug). */
export function createKafka(brokers: string[], clientId: string, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafka' });
  return new Kafka({
    clientId,
    brokers,
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
