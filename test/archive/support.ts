import { TransactionFeed, type FeedMessage } from '../../src/feed/generator';
import { startWorkerProcess } from '../support/process';
import { serviceUrl } from '../support/throwaway-database';

/** Traffic over several event hours (one event a second), with broken and redelivered messages. */
export function feedMessages(count: number, seed: number): FeedMessage[] {
  const feed = new TransactionFeed({
    seed,
    customers: 300,
    rate: 1,
    start: Date.parse('2026-11-24T09:40:00Z'),
    invalid: 0.01,
    duplicates: 0.01,
    cardTesting: 0.01,
    takeover: 0.005,
    spike: 0.01,
  });
  return Array.from({ length: count }, () => feed.next());
}

/** The archive in the local S3 (versitygw) under its own key prefix. */
export function archiveSettings(prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ARCHIVE_S3_ENDPOINT: serviceUrl('ARCHIVE_S3_ENDPOINT'),
    ARCHIVE_S3_BUCKET: serviceUrl('ARCHIVE_S3_BUCKET'),
    ARCHIVE_S3_ACCESS_KEY_ID: serviceUrl('ARCHIVE_S3_ACCESS_KEY_ID'),
    ARCHIVE_S3_SECRET_ACCESS_KEY: serviceUrl('ARCHIVE_S3_SECRET_ACCESS_KEY'),
    ARCHIVE_PREFIX: prefix,
    ...overrides,
  };
}

/** `tollgraph worker archive` in a child process. */
export const archiverProcess = (env: Record<string, string>) => startWorkerProcess(['worker', 'archive'], env);
