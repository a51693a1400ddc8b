import type { Config } from '../config/schema';
import type { Sql } from '../db/sql';
import type { Band, RiskFactor } from '../risk/model/types';
import { newestFirst, type HistoryArchive, type HistoryWindow } from '../risk/service';
import type { RiskScoreView } from '../risk/view';
import { hourOfKey } from './datasets';
import { ArchiveManifest } from './manifest';
import { objectStoreFor, type ObjectStore } from './object-store';
import { readArchiveObject } from './reader';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const SCORE_COLUMNS = ['offset', 'event_id', 'customer_id', 'score', 'band', 'factors', 'model_version', 'event_time', 'computed_at'];

/**
 * The scores archived in some objects of the risk-scores dataset, one per event (optionally only
 * `customerId`'s). A score on the topic twice (redelivered, or scored again after a restart)
 * keeps its last copy: the one the pipeline's last history write holds too.
 */
export async function archivedScores(store: ObjectStore, keys: string[], customerId?: string): Promise<Map<string, RiskScoreView>> {
  const latest = new Map<string, { offset: bigint; view: RiskScoreView }>();
  const objects = await Promise.all(keys.map((key) => readArchiveObject(store, key, SCORE_COLUMNS)));
  for (const row of objects.flat()) {
    if (row.event_id === null || (customerId !== undefined && row.customer_id !== customerId)) continue;
    const offset = row.offset as bigint;
    const eventId = row.event_id as string;
    const known = latest.get(eventId);
    if (known && known.offset > offset) continue;
    latest.set(eventId, {
      offset,
      view: {
        eventId,
        customerId: row.customer_id as string,
        score: row.score as number,
        band: row.band as Band,
        factors: (typeof row.factors === 'string' ? JSON.parse(row.factors) : row.factors) as RiskFactor[],
        modelVersion: row.model_version as string,
        eventTime: (row.event_time as Date).toISOString(),
        computedAt: (row.computed_at as Date).toISOString(),
      },
    });
  }
  return new Map([...latest].map(([eventId, { view }]) => [eventId, view]));
}

/**
 * The score history PostgreSQL no longer keeps (HISTORY_RETENTION_DAYS), read from the archive:
 * the committed risk-scores segments of the window, hour object by hour object from the newest,
 * until enough rows are found (an older hour cannot hold a newer row). One object read per event
 * hour the page reaches back through: fine for a customer's page, not a scan of the archive.
 */
export class ArchivedHistory implements HistoryArchive {
  constructor(
    private readonly manifest: ArchiveManifest,
    private readonly store: () => Promise<ObjectStore>,
    private readonly retentionMs: number,
  ) {}

  horizon(): Date {
    return new Date(Date.now() - this.retentionMs);
  }

  async scores(customerId: string, window: HistoryWindow, limit: number): Promise<RiskScoreView[]> {
    const segments = await this.manifest.segments('risk-scores', { from: window.from, to: window.before });
    const firstHour = window.from ? Math.floor(window.from.getTime() / HOUR_MS) * HOUR_MS : -Infinity;
    const byHour = new Map<number, string[]>();
    for (const key of segments.flatMap((segment) => segment.objects)) {
      const hour = hourOfKey(key);
      if (hour === undefined || hour < firstHour || hour >= window.before.getTime()) continue;
      byHour.set(hour, [...(byHour.get(hour) ?? []), key]);
    }
    const store = await this.store();
    const inWindow = (view: RiskScoreView) => {
      const time = Date.parse(view.eventTime);
      if (time >= window.before.getTime() || (window.from && time < window.from.getTime())) return false;
      const { cursor } = window;
      return !cursor || time < cursor.time.getTime() || (time === cursor.time.getTime() && view.eventId < cursor.eventId);
    };
    const found: RiskScoreView[] = [];
    for (const hour of [...byHour.keys()].sort((a, b) => b - a)) {
      for (const view of (await archivedScores(store, byHour.get(hour)!, customerId)).values()) if (inWindow(view)) found.push(view);
      if (found.length >= limit) break;
    }
    return found.sort(newestFirst).slice(0, limit);
  }
}

/** The history archive the gateway reads, when the configuration keeps less than the whole history in PostgreSQL. */
export function archivedHistoryFor(config: Config, sql: Sql): ArchivedHistory | undefined {
  if (!config.HISTORY_RETENTION_DAYS) return undefined;
  // Opened on first use: the AWS SDK loads only once a page reaches past the window.
  let store: Promise<ObjectStore> | undefined;
  const open = () => (store ??= objectStoreFor(config).then((configured) => configured!));
  return new ArchivedHistory(new ArchiveManifest(sql), open, config.HISTORY_RETENTION_DAYS * DAY_MS);
}
