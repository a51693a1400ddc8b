import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { objectStoreFor } from '../src/archive/object-store';
import type { BenchContext } from './context';
import { benchTopics, produce } from './ingestion';
import { ROOT, freePort, suffix } from './lib/common';
import { processesStartingWith, startCpuMeter } from './lib/cpu';
import { figure, type Figure } from './lib/stats';
import { createWorld } from './lib/world';
import { runBuilt, waitFor } from '../test/support/process';

export interface ArchiveRun {
  /** Records archived per second, from the archiver being ready to the last segment's commit. */
  eventsPerSecond: number;
  /** CPU microseconds per archived record: the archiver process, and the S3 server (versitygw). */
  archiverCpuMicros: number;
  s3CpuMicros: number;
  parquetBytesPerEvent: number;
  objects: number;
}

export interface ArchiveResult {
  events: number;
  partitions: number;
  segmentEvents: number;
  runs: ArchiveRun[];
  eventsPerSecond: Figure;
}

const S3_VARIABLES = ['ARCHIVE_S3_ENDPOINT', 'ARCHIVE_S3_BUCKET', 'ARCHIVE_S3_ACCESS_KEY_ID', 'ARCHIVE_S3_SECRET_ACCESS_KEY'] as const;

/** The local S3 (versitygw), started by scripts/services.sh when its variables are unset. */
async function s3Settings(log: (line: string) => void): Promise<Record<string, string>> {
  if (!process.env.ARCHIVE_S3_ENDPOINT) {
    log('starting s3 (versitygw) with scripts/services.sh');
    const run = promisify(execFile);
    await run('bash', [join(ROOT, 'scripts', 'services.sh'), 'up', 's3'], { cwd: ROOT, maxBuffer: 64 << 20 });
    const { stdout } = await run('bash', [join(ROOT, 'scripts', 'services.sh'), 'env'], { cwd: ROOT });
    for (const match of stdout.matchAll(/^export (ARCHIVE_S3_\w+)=(.*)$/gm)) process.env[match[1]] = match[2];
  }
  return Object.fromEntries(S3_VARIABLES.map((name) => [name, process.env[name] ?? '']));
}

/**
 * Archive throughput: the transactions topic (10 partitions, filled beforehand) written to S3 as
 * Parquet by one `tollgraph worker archive` process, segments of 25,000 records of a partition;
 * the rate from the archiver being ready to the last commit, and the CPU per record.
 */
export async function archiveBenchmark(ctx: BenchContext): Promise<ArchiveResult> {
  const s3 = await s3Settings(ctx.log);
  const prefix = `bench-${suffix()}/`;
  const segmentEvents = ctx.smoke ? 2_000 : 25_000;
  const events = ctx.smoke ? 20_000 : 1_000_000;
  const world = await createWorld(ctx.urls, {
    ...s3,
    ARCHIVE_PREFIX: prefix,
    ARCHIVE_SEGMENT_EVENTS: String(segmentEvents),
    ARCHIVE_SEGMENT_MAX_AGE_MS: '1000',
  });
  const store = (await objectStoreFor(world.config))!;
  const { topics, producer, close } = await benchTopics(world);
  const sql = world.services.db.sql;
  try {
    ctx.log(`archive: producing ${events} events`);
    await produce(producer, topics.transactions, events);
    const runs: ArchiveRun[] = [];
    for (let i = 0; i < (ctx.smoke ? 1 : 3); i++) {
      // Each run archives the whole topic again, from an empty manifest and bucket prefix.
      await sql.query(`DELETE FROM archive_segments`);
      await store.delete(await store.list(prefix));
      const port = await freePort();
      const archiver = runBuilt('bin/tollgraph.js', { ...world.env, ARCHIVE_CONSUMER_GROUP: `archiver-${i}`, LOG_LEVEL: 'warn' }, [
        'worker',
        'archive',
        '--metrics-port',
        String(port),
      ]);
      try {
        await waitFor('the archiver to be ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000, 50);
        const began = Date.now();
        const cpu = startCpuMeter({ archiver: () => [archiver.child.pid!], s3: () => processesStartingWith(join(ROOT, '.services', 'bin', 'versitygw')) });
        await waitFor(
          'the topic archived',
          async () => {
            const [row] = await sql.query<{ n: string }>(`SELECT coalesce(sum(records), 0)::text AS n FROM archive_segments WHERE committed AND topic = $1`, [
              topics.transactions,
            ]);
            return Number(row.n) >= events;
          },
          600_000,
          100,
        );
        const cpuPerEvent = cpu.perRequest(events);
        const seconds = (Date.now() - began) / 1000;
        const [{ objects }] = await sql.query<{ objects: number }>(
          `SELECT sum(cardinality(objects))::int AS objects FROM archive_segments WHERE committed AND topic = $1`,
          [topics.transactions],
        );
        const keys = await store.list(`${prefix}transactions/`);
        let bytes = 0;
        for (const key of keys) bytes += (await store.get(key)).byteLength;
        runs.push({
          eventsPerSecond: Math.round(events / seconds),
          archiverCpuMicros: Math.round(cpuPerEvent.archiver * 10) / 10,
          s3CpuMicros: Math.round(cpuPerEvent.s3 * 10) / 10,
          parquetBytesPerEvent: Math.round((bytes / events) * 10) / 10,
          objects,
        });
        ctx.log(`archive run ${i + 1}: ${JSON.stringify(runs[runs.length - 1])}`);
      } finally {
        archiver.child.kill('SIGTERM');
        await archiver.exited;
      }
    }
    return {
      events,
      partitions: Number(world.env.TRANSACTIONS_PARTITIONS),
      segmentEvents,
      runs,
      eventsPerSecond: figure(runs.map((run) => run.eventsPerSecond)),
    };
  } finally {
    await store.delete(await store.list(prefix)).catch(() => undefined);
    await close();
    await world.close();
  }
}
