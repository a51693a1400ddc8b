import type { Sql } from '../db/sql';
import type { Logger } from '../ops/logger';
import { deleteArchivedHistory } from '../risk/history-retention';
import type { ArchiveManifest } from './manifest';
import type { ObjectStore } from './object-store';
import { archivedScores } from './scores';

const DAY_MS = 86_400_000;
const PASS_EVERY_MS = 10 * 60_000;

export interface RetentionReport {
  /** Segments read. */
  segments: number;
  /** History rows deleted from PostgreSQL. */
  deleted: number;
}

/**
 * One retention pass: for each committed risk-scores segment holding events older than `before`
 * that no pass has finished with, the PostgreSQL history rows it holds identically are deleted
 * (src/risk/history-retention.ts). Only the manifest's committed segments count as archived, so
 * a row the archive lacks is never deleted. A segment is done once all its events are older
 * than `before`; one straddling it is read again by the next pass.
 */
export async function pruneHistory(deps: { sql: Sql; manifest: ArchiveManifest; store: ObjectStore }, before: Date): Promise<RetentionReport> {
  const report: RetentionReport = { segments: 0, deleted: 0 };
  for (const segment of await deps.manifest.unpruned('risk-scores', before)) {
    const old = [...(await archivedScores(deps.store, segment.objects)).values()].filter((view) => Date.parse(view.eventTime) < before.getTime());
    report.deleted += await deleteArchivedHistory(deps.sql, old, before);
    report.segments++;
    if (segment.maxTime < before) await deps.manifest.markPruned(segment);
  }
  return report;
}

export const retentionCutoff = (days: number, now = Date.now()) => new Date(now - days * DAY_MS);

/** Retention passes every 10 minutes while the archiver runs (HISTORY_RETENTION_DAYS set). */
export function startRetention(deps: { sql: Sql; manifest: ArchiveManifest; store: ObjectStore }, days: number, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = running
      .then(async () => {
        const report = await pruneHistory(deps, retentionCutoff(days));
        if (report.segments) log.info(report, 'history retention pass');
      })
      .catch((error) => log.error({ err: error }, 'history retention pass failed; trying again at the next pass'));
  };
  run();
  const timer = setInterval(run, PASS_EVERY_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
