import type { Sql } from '../db/sql';
import { ledgerRecords, nextLedgerTime } from '../metering/ledger';
import type { Logger } from '../ops/logger';
import { usageDataset } from './datasets';
import type { ArchiveManifest } from './manifest';
import type { SegmentWriter } from './segment-writer';

/** The usage ledger's name in the manifest (its one "partition" is 0; its offsets are epoch milliseconds). */
export const USAGE_SOURCE = 'usage_records';
const HOUR_MS = 3_600_000;
/** A ledger hour is archived once it ended this long ago: a record is written while its request is answered, within seconds. */
export const LEDGER_SETTLE_MS = 5 * 60_000;
/** Segments one pass writes at most (a first run over a long ledger catches up pass by pass). */
const SEGMENTS_PER_PASS = 48;
const PASS_EVERY_MS = 60_000;

const floorHour = (time: number) => Math.floor(time / HOUR_MS) * HOUR_MS;

/**
 * Archives the usage ledger by closed UTC hours: each segment runs from the manifest's position
 * to the end of the next hour that has records (the empty hours before it included), so a quiet
 * night costs one segment, not one per hour. Same manifest, same exactly-once rules as the topics.
 */
export function startUsageArchiver(sql: Sql, manifest: ArchiveManifest, writer: SegmentWriter, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function pass(): Promise<void> {
    for (let written = 0; written < SEGMENTS_PER_PASS && !stopped; written++) {
      const position = await manifest.position(USAGE_SOURCE, 0);
      const next = await nextLedgerTime(sql, new Date(position ?? 0));
      const closedBefore = floorHour(Date.now() - LEDGER_SETTLE_MS);
      if (!next || next.getTime() >= closedBefore) return;
      const fromOffset = position ?? floorHour(next.getTime());
      const toOffset = floorHour(next.getTime()) + HOUR_MS;
      const rows = (await ledgerRecords(sql, new Date(fromOffset), new Date(toOffset))).map((record) => usageDataset.row(record));
      if ((await writer.write({ topic: USAGE_SOURCE, partition: 0, dataset: usageDataset, fromOffset, toOffset, rows })) === 'fenced') return;
    }
  }

  const run = () => {
    running = running.then(pass).catch((error) => log.error({ err: error }, 'could not archive the usage ledger; trying again at the next pass'));
  };
  run();
  const timer = setInterval(run, PASS_EVERY_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
