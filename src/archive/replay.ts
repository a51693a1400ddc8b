import type { Services } from '../services';
import { riskTopics } from '../risk/kafka/topics';
import { dropGroup } from '../risk/pipeline/store';
import { riskPipeline } from '../risk/pipeline/factory';
import { NO_OUTPUTS } from '../risk/pipeline/outputs';
import type { RawMessage } from '../risk/pipeline/processor';
import { countBatch, type ReplayOptions, type ReplayReport } from '../risk/kafka/replay';
import { ArchiveManifest, type CommittedSegment } from './manifest';
import type { ObjectStore } from './object-store';
import { readArchiveObject } from './reader';

/** Records handed to the pipeline at once (what a Kafka fetch would bring). */
const BATCH = 2_000;

/** What `archive replay` reports beyond a Kafka replay's figures. */
export interface ArchiveReplayReport extends ReplayReport {
  /** Offsets the archive does not hold: Kafka had dropped them before they were archived (the archiver logged each gap). */
  missing: number;
}

/**
 * A segment's records in offset order, as the pipeline takes them from Kafka. Throws when its
 * objects do not hold what the manifest says (an object deleted or replaced behind the archive's back).
 */
async function segmentMessages(store: ObjectStore, segment: CommittedSegment): Promise<RawMessage[]> {
  const damaged = (what: string) =>
    new Error(`the archive is damaged: segment ${segment.topic} partition ${segment.partition} [${segment.fromOffset}, ${segment.toOffset}): ${what}`);
  const objects = await Promise.all(
    segment.objects.map((key) =>
      readArchiveObject(store, key).catch((error: Error) => {
        throw damaged(`object ${key}: ${error.message}`);
      }),
    ),
  );
  const rows = objects.flat();
  if (rows.length !== segment.records) throw damaged(`the manifest lists ${segment.records} records, its objects hold ${rows.length}`);
  rows.sort((a, b) => Number((a.offset as bigint) - (b.offset as bigint)));
  return rows.map((row) => ({
    offset: String(row.offset),
    key: row.key ? Buffer.from(row.key as Uint8Array) : null,
    value: row.value ? Buffer.from(row.value as Uint8Array) : null,
    timestamp: String((row.record_time as Date).getTime()),
  }));
}

/**
 * Event sourcing from the archive: the same replay as `replayRiskHistory`, reading the archived
 * `transactions` segments (partition by partition, in offset order) instead of Kafka, so states
 * and history can be rebuilt after Kafka's retention has dropped the events. The pipeline cannot
 * tell the difference: each record comes with its original partition, offset, key and bytes.
 */
export async function replayFromArchive(services: Services, store: ObjectStore, options: ReplayOptions = {}): Promise<ArchiveReplayReport> {
  const { config, logger } = services;
  const topic = riskTopics(config).transactions;
  const groupId = options.groupId ?? `${config.KAFKA_TOPIC_PREFIX}risk-replay-${Date.now()}`;
  const started = performance.now();
  const segments = (await new ArchiveManifest(services.db.sql).segments('transactions')).filter((segment) => segment.topic === topic);
  const partitions = new Map<number, CommittedSegment[]>();
  for (const segment of segments) {
    const list = partitions.get(segment.partition);
    if (list) list.push(segment);
    else partitions.set(segment.partition, [segment]);
  }

  const pipeline = riskPipeline(services, {
    outputs: NO_OUTPUTS,
    logger: logger.child({ component: 'archive-replay', groupId }),
    groupId,
    mode: 'replay',
    provenance: true,
    historyFrom: options.from,
    // A partition starts at its first archived record (Kafka may have dropped what came before).
    initialOffset: async (_topic, partition) => partitions.get(partition)?.[0].fromOffset ?? 0,
    checkpointIntervalMs: 0,
  });
  const report: ArchiveReplayReport = { groupId, scored: 0, duplicates: 0, invalid: 0, restored: 0, changed: 0, missing: 0, seconds: 0 };
  for (const [partition, list] of [...partitions].sort(([a], [b]) => a - b)) {
    for (let i = 0; i < list.length; i++) {
      const segment = list[i];
      // The manifest's segments follow each other (a segment is claimed where the last one ended):
      // anything else is a manifest read out of order or a damaged manifest, never replayed past.
      if (i > 0 && segment.fromOffset !== list[i - 1].toOffset)
        throw new Error(
          `the archive's manifest is out of order: ${topic} partition ${partition} has [${list[i - 1].fromOffset}, ${list[i - 1].toOffset}) then [${segment.fromOffset}, ${segment.toOffset})`,
        );
      const messages = await segmentMessages(store, segment);
      // Records Kafka no longer had when they were archived are the only gaps.
      const missing = segment.toOffset - segment.fromOffset - messages.length;
      if (missing)
        logger.warn(
          { topic, partition, fromOffset: segment.fromOffset, toOffset: segment.toOffset, missing },
          'archived segment with records missing from Kafka',
        );
      report.missing += missing;
      for (let at = 0; at < messages.length; at += BATCH) {
        const result = await pipeline.processBatch(topic, partition, messages.slice(at, at + BATCH));
        if (result.kind !== 'done')
          throw new Error(`the archive of ${topic} partition ${partition} does not continue where the replay is (${result.kind} to offset ${result.offset})`);
        countBatch(report, result);
        options.onProgress?.(report);
      }
    }
  }
  await pipeline.checkpointIdle(true);
  if (!options.keepState) await dropGroup(services.db.sql, groupId);
  report.seconds = Math.round((performance.now() - started) / 100) / 10;
  return report;
}
