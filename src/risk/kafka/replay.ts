import type { Kafka } from 'kafkajs';
import type { Services } from '../../services';
import { startRiskConsumer } from './consumer';
import { riskTopics } from './topics';
import { dropGroup } from '../pipeline/store';
import type { BatchResult } from '../pipeline/processor';

export interface ReplayOptions {
  /** Rewrite history for events at or after this event time (default: all of it). */
  from?: number;
  /** Consumer group (and state) of the replay; default a fresh `<prefix>risk-replay-<time>`. */
  groupId?: string;
  /** Keep the replay's customer states and checkpoints afterwards (default: removed). */
  keepState?: boolean;
  onProgress?: (progress: ReplayReport) => void;
}

export interface ReplayReport {
  groupId: string;
  /** Events scored (state rebuilt from all of them). */
  scored: number;
  duplicates: number;
  invalid: number;
  /** History rows that were missing and are back. */
  restored: number;
  /** History rows whose score, band or factors differed from the replay (0 when live and replay agree). */
  changed: number;
  seconds: number;
}

/**
 * What a replay of `topic` reads: each partition's retained offsets now, from its first to its
 * log end (where the replay stops). Partitions with nothing retained never deliver a batch:
 * nothing to wait for there, so they are left out.
 */
export async function replayRange(kafka: Kafka, topic: string): Promise<Map<number, { low: number; high: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    return new Map(
      offsets.filter((entry) => Number(entry.high) > Number(entry.low)).map((entry) => [entry.partition, { low: Number(entry.low), high: Number(entry.high) }]),
    );
  } finally {
    await admin.disconnect();
  }
}

/** Where a replay of `topic` stops, per partition (replayRange). */
export const endsOf = (range: Map<number, { high: number }>): Map<number, number> => new Map([...range].map(([partition, { high }]) => [partition, high]));

/** Adds a replayed batch's figures to the report. */
export function countBatch(report: ReplayReport, result: Extract<BatchResult, { kind: 'done' }>): void {
  report.scored += result.scored;
  report.duplicates += result.duplicates;
  report.invalid += result.invalid;
  report.restored += result.restored;
  report.changed += result.changed;
}

/**
 * Event sourcing: rebuilds the customer states from the retained `transactions` log into a fresh
 * consumer group (beside the live one, which keeps running), and rewrites the score history from
 * `from` on. State always starts from the beginning of the log, because the model's features
 * (running mean and spread, known merchants, countries and devices) depend on every earlier
 * event; `from` only limits which history is rewritten. Stops at the log end offsets taken at
 * the start. Nothing is published: live outputs belong to the live consumer.
 */
export async function replayRiskHistory(services: Services, options: ReplayOptions = {}): Promise<ReplayReport> {
  const { config } = services;
  const kafka = services.kafka;
  if (!kafka) throw new Error('KAFKA_BROKERS is not set: replay reads the transactions topic');
  const topic = riskTopics(config).transactions;
  const groupId = options.groupId ?? `${config.KAFKA_TOPIC_PREFIX}risk-replay-${Date.now()}`;
  const started = performance.now();

  const ends = endsOf(await replayRange(kafka, topic));

  const report: ReplayReport = { groupId, scored: 0, duplicates: 0, invalid: 0, restored: 0, changed: 0, seconds: 0 };
  const consumer = await startRiskConsumer(services, {
    groupId,
    mode: 'replay',
    historyFrom: options.from,
    endOffsets: ends,
    onBatch: (_partition, result) => {
      if (result.kind !== 'done') return;
      countBatch(report, result);
      options.onProgress?.(report);
    },
  });
  try {
    await Promise.race([
      consumer.finished,
      consumer.crashed.then((error) => {
        throw error;
      }),
    ]);
  } finally {
    await consumer.stop();
  }
  if (!options.keepState) {
    const sql = services.db.sql;
    await dropGroup(sql, groupId);
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  report.seconds = Math.round((performance.now() - started) / 100) / 10;
  return report;
}
