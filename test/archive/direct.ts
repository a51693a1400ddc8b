import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import type { SourceRecord } from '../../src/archive/datasets';
import { ArchiveManifest } from '../../src/archive/manifest';
import type { ObjectStore } from '../../src/archive/object-store';
import { SegmentWriter } from '../../src/archive/segment-writer';
import type { Sql } from '../../src/db/sql';
import type { RiskScoreView } from '../../src/risk/view';

/** Segments written straight into the archive and its manifest, as the archiver writes them, without Kafka in between. */
export async function directWriter(sql: Sql, store: ObjectStore, prefix: string): Promise<SegmentWriter> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  return new SegmentWriter(store, new ArchiveManifest(sql), prefix, `test-${randomBytes(3).toString('hex')}`, new Registry(), (columns) =>
    parquetWriteBuffer({ columnData: columns }),
  );
}

/** A score as the pipeline puts it on the risk-scores topic (JSON, keyed by customer). */
export const scoreRecord = (view: RiskScoreView, offset: number, partition = 0): SourceRecord => ({
  partition,
  offset,
  timestamp: Date.parse(view.computedAt),
  key: Buffer.from(view.customerId),
  value: Buffer.from(JSON.stringify(view)),
});
