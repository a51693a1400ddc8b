import { Counter, Histogram, type Registry } from 'prom-client';
import { columnData, hourPartition, objectKey, type ArchiveRow, type Dataset } from './datasets';
import type { ArchiveManifest } from './manifest';
import type { ObjectStore } from './object-store';

/** The records [fromOffset, toOffset) of one partition of a source (a topic, or the usage ledger's hours). */
export interface Segment {
  topic: string;
  partition: number;
  dataset: Dataset<never>;
  fromOffset: number;
  toOffset: number;
  rows: ArchiveRow[];
}

/** The archiver role's metrics (served by `tollgraph worker archive`, not by the gateway). */
export function archiveMetrics(registry: Registry) {
  let metrics = cache.get(registry);
  if (!metrics) cache.set(registry, (metrics = createMetrics(registry)));
  return metrics;
}

const cache = new WeakMap<Registry, ReturnType<typeof createMetrics>>();

function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    records: new Counter({
      name: 'tollgraph_archive_records_total',
      help: 'Records written to the archive, by dataset',
      labelNames: ['dataset'] as const,
      registers,
    }),
    objects: new Counter({
      name: 'tollgraph_archive_objects_total',
      help: 'Parquet objects written to the archive, by dataset',
      labelNames: ['dataset'] as const,
      registers,
    }),
    bytes: new Counter({
      name: 'tollgraph_archive_bytes_total',
      help: 'Bytes of Parquet written to the archive, by dataset',
      labelNames: ['dataset'] as const,
      registers,
    }),
    fenced: new Counter({ name: 'tollgraph_archive_fenced_total', help: 'Segments another archiver had taken over (nothing committed)', registers }),
    failures: new Counter({ name: 'tollgraph_archive_failures_total', help: 'Segments that failed to write (retried from the manifest position)', registers }),
    seconds: new Histogram({
      name: 'tollgraph_archive_segment_seconds',
      help: 'Time to encode, upload and commit one segment',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}

/**
 * Writes segments the one way every source is archived: claimed in the manifest, one Parquet
 * object per event hour (names from the source, partition and range, so a rewrite replaces),
 * what a taken-over claim left deleted, committed once every object is there.
 */
export class SegmentWriter {
  private readonly metrics: ReturnType<typeof archiveMetrics>;

  constructor(
    private readonly store: ObjectStore,
    private readonly manifest: ArchiveManifest,
    private readonly prefix: string,
    private readonly owner: string,
    registry: Registry,
    private readonly encode: (columns: ReturnType<typeof columnData>) => ArrayBuffer,
  ) {
    this.metrics = archiveMetrics(registry);
  }

  /** 'fenced' when another archiver has archived the partition past `fromOffset` (nothing committed); throws when the store or the database fails. */
  async write({ topic, partition, dataset, fromOffset, toOffset, rows }: Segment): Promise<'committed' | 'fenced'> {
    const timer = this.metrics.seconds.startTimer();
    try {
      const hours = new Map<string, ArchiveRow[]>();
      let minTime = Infinity;
      let maxTime = -Infinity;
      for (const row of rows) {
        const hour = hourPartition(row.time);
        const list = hours.get(hour);
        if (list) list.push(row);
        else hours.set(hour, [row]);
        if (row.time < minTime) minTime = row.time;
        if (row.time > maxTime) maxTime = row.time;
      }
      const objects = [...hours.keys()]
        .sort()
        .map((hour) => ({ hour, key: objectKey(this.prefix, dataset.name, hour, topic, partition, fromOffset, toOffset) }));
      const keys = objects.map((object) => object.key);
      const claim = await this.manifest.claim({
        topic,
        partition,
        fromOffset,
        toOffset,
        dataset: dataset.name,
        records: rows.length,
        objects: keys,
        minTime,
        maxTime,
        owner: this.owner,
      });
      if (!claim.claimed) return this.fenced();
      // A crashed (or superseded) archiver's objects for a different range: nobody will list them.
      const stale = claim.replaced.filter((key) => !keys.includes(key));
      if (stale.length) await this.store.delete(stale);
      let bytes = 0;
      await Promise.all(
        objects.map(async ({ hour, key }) => {
          const body = new Uint8Array(this.encode(columnData(dataset, hours.get(hour)!)));
          bytes += body.byteLength;
          await this.store.put(key, body);
        }),
      );
      if (!(await this.manifest.commit(topic, partition, fromOffset, this.owner))) return this.fenced();
      this.metrics.records.inc({ dataset: dataset.name }, rows.length);
      this.metrics.objects.inc({ dataset: dataset.name }, objects.length);
      this.metrics.bytes.inc({ dataset: dataset.name }, bytes);
      return 'committed';
    } catch (error) {
      this.metrics.failures.inc();
      throw error;
    } finally {
      timer();
    }
  }

  private fenced(): 'fenced' {
    this.metrics.fenced.inc();
    return 'fenced';
  }
}
