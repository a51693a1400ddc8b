import type { Sql } from '../db/sql';

/** A segment about to be written: the records [fromOffset, toOffset) of one partition. */
export interface SegmentClaim {
  topic: string;
  partition: number;
  fromOffset: number;
  toOffset: number;
  dataset: string;
  records: number;
  objects: string[];
  minTime: number;
  maxTime: number;
  owner: string;
}

export interface CommittedSegment extends Omit<SegmentClaim, 'minTime' | 'maxTime' | 'owner'> {
  minTime: Date;
  maxTime: Date;
}

/**
 * Claims a partition's next segment in one statement: none may be committed past its start (a
 * stale archiver whose partition moved on is refused), a pending one at the same start (a crashed
 * or superseded archiver's) is taken over, and pending ones further on are dropped. Returns the
 * object keys of what it replaced, to delete.
 */
const CLAIM = `
WITH ahead AS (
  SELECT 1 FROM archive_segments WHERE topic = $1 AND partition = $2 AND committed AND to_offset > $3
), previous AS (
  SELECT objects FROM archive_segments WHERE topic = $1 AND partition = $2 AND from_offset = $3 AND NOT committed
), dropped AS (
  DELETE FROM archive_segments
  WHERE topic = $1 AND partition = $2 AND NOT committed AND from_offset > $3 AND NOT EXISTS (SELECT 1 FROM ahead)
  RETURNING objects
), claimed AS (
  INSERT INTO archive_segments (topic, partition, from_offset, to_offset, dataset, records, objects, min_time, max_time, owner)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE NOT EXISTS (SELECT 1 FROM ahead)
  ON CONFLICT (topic, partition, from_offset) DO UPDATE
    SET to_offset = EXCLUDED.to_offset, dataset = EXCLUDED.dataset, records = EXCLUDED.records, objects = EXCLUDED.objects,
        min_time = EXCLUDED.min_time, max_time = EXCLUDED.max_time, owner = EXCLUDED.owner, created_at = now()
    WHERE NOT archive_segments.committed
  RETURNING 1
)
SELECT (SELECT count(*) FROM claimed)::int AS claimed,
       ARRAY(SELECT unnest(objects) FROM previous UNION SELECT unnest(objects) FROM dropped) AS replaced`;

interface SegmentRow {
  topic: string;
  partition: number;
  from_offset: string;
  to_offset: string;
  dataset: string;
  records: number;
  objects: string[];
  min_time: Date;
  max_time: Date;
}

/**
 * The archive's manifest in PostgreSQL (the archive domain's own table, `archive_segments`): what
 * has been archived, up to which offset, in which objects.
 */
export class ArchiveManifest {
  constructor(private readonly sql: Sql) {}

  /** Where a partition's next segment starts; undefined before its first one. */
  async position(topic: string, partition: number): Promise<number | undefined> {
    const [row] = await this.sql.query<{ to: string | null }>(
      `SELECT max(to_offset)::text AS "to" FROM archive_segments WHERE topic = $1 AND partition = $2 AND committed`,
      [topic, partition],
    );
    return row.to === null ? undefined : Number(row.to);
  }

  /** Claims a segment; `claimed` false when another archiver has committed past its start. */
  async claim(segment: SegmentClaim): Promise<{ claimed: boolean; replaced: string[] }> {
    const [row] = await this.sql.query<{ claimed: number; replaced: string[] }>(CLAIM, [
      segment.topic,
      segment.partition,
      segment.fromOffset,
      segment.toOffset,
      segment.dataset,
      segment.records,
      segment.objects,
      new Date(segment.minTime),
      new Date(segment.maxTime),
      segment.owner,
    ]);
    return { claimed: row.claimed === 1, replaced: row.replaced };
  }

  /** Commits a claimed segment whose objects are all written; false when another archiver took it over meanwhile. */
  async commit(topic: string, partition: number, fromOffset: number, owner: string): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE archive_segments SET committed = true, committed_at = now() WHERE topic = $1 AND partition = $2 AND from_offset = $3 AND owner = $4 AND NOT committed RETURNING 1`,
      [topic, partition, fromOffset, owner],
    );
    return rows.length === 1;
  }

  /** Committed segments of a dataset in partition and offset order, optionally only those with events in [from, to). */
  async segments(dataset: string, window: { from?: Date; to?: Date } = {}): Promise<CommittedSegment[]> {
    const rows = await this.sql.query<SegmentRow>(
      `SELECT ${SEGMENT_COLUMNS} FROM archive_segments
       WHERE dataset = $1 AND committed AND ($2::timestamptz IS NULL OR max_time >= $2) AND ($3::timestamptz IS NULL OR min_time < $3)
       ORDER BY topic, partition, archive_segments.from_offset`,
      [dataset, window.from ?? null, window.to ?? null],
    );
    return rows.map(committedSegment);
  }

  /** Committed segments with events before `before` that the history retention pass has not finished with, oldest first. */
  async unpruned(dataset: string, before: Date): Promise<CommittedSegment[]> {
    const rows = await this.sql.query<SegmentRow>(
      `SELECT ${SEGMENT_COLUMNS} FROM archive_segments
       WHERE dataset = $1 AND committed AND history_pruned_at IS NULL AND min_time < $2 ORDER BY min_time, topic, partition, archive_segments.from_offset`,
      [dataset, before],
    );
    return rows.map(committedSegment);
  }

  /** The retention pass is done with a segment: every event in it is older than the window. */
  async markPruned(segment: Pick<CommittedSegment, 'topic' | 'partition' | 'fromOffset'>): Promise<void> {
    await this.sql.query(`UPDATE archive_segments SET history_pruned_at = now() WHERE topic = $1 AND partition = $2 AND from_offset = $3`, [
      segment.topic,
      segment.partition,
      segment.fromOffset,
    ]);
  }
}

// Offsets leave as text (bigint); ORDER BY must name the table's column, not this text (where '1000' < '500').
const SEGMENT_COLUMNS = 'topic, partition, from_offset::text, to_offset::text, dataset, records, objects, min_time, max_time';

const committedSegment = (row: SegmentRow): CommittedSegment => ({
  topic: row.topic,
  partition: row.partition,
  fromOffset: Number(row.from_offset),
  toOffset: Number(row.to_offset),
  dataset: row.dataset,
  records: row.records,
  objects: row.objects,
  minTime: row.min_time,
  maxTime: row.max_time,
});
