import { existsSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { columnData, hourPartition, objectKey, riskScoresDataset, transactionsDataset, type ArchiveRow, type Dataset } from '../src/archive/datasets';
import { DirectoryStore } from '../src/archive/object-store';
import { ANALYTICS_PATH, type AnalyticsRequest } from '../src/analytics/request';
import type { AnalyticsQueryName } from '../src/analytics/queries';
import { runBuilt, waitFor } from '../test/support/process';
import type { BenchContext } from './context';
import { ROOT, freePort } from './lib/common';
import { figure, percentile, sortedCopy, type Figure } from './lib/stats';
import { createWorld } from './lib/world';

const HOUR = 3_600_000;
const PARTITIONS = 10;
/** The archiver's default segment size (ARCHIVE_SEGMENT_EVENTS): a partition's segment spans several event hours. */
const SEGMENT_EVENTS = 100_000;
/** Events per second of the archived traffic: 10 million is about 11 hours of it. */
const RATE = 250;
const START = Date.parse('2026-10-01T00:00:00Z');
const MCCS = ['5411', '5812', '5999', '4829', '6011', '7995', '5732', '5912'];
const COUNTRIES = ['DE', 'FR', 'NL', 'ES', 'IT', 'PL', 'GB', 'US', 'NG', 'BR'];
const CHANNELS = ['CARD_PRESENT', 'ECOMMERCE', 'MOBILE'];
const BANDS: Array<[number, string]> = [
  [250, 'LOW'],
  [500, 'MEDIUM'],
  [750, 'HIGH'],
  [1001, 'CRITICAL'],
];

export interface AnalyticsQueryFigures {
  question: AnalyticsQueryName;
  window: string;
  p50Ms: Figure;
  p99Ms: Figure;
}

export interface AnalyticsResult {
  events: number;
  hours: number;
  objects: number;
  megabytes: number;
  /** Seconds to write the Parquet (0 when the directory from an earlier run was reused). */
  generateSeconds: number;
  samplesPerRun: number;
  queries: AnalyticsQueryFigures[];
}

/** A cheap deterministic mix for the synthetic columns. */
const mix = (n: number) => Math.imul(n ^ (n >>> 15), 2246822519) >>> 0;
const uuid = (n: number) => `${(n >>> 0).toString(16).padStart(8, '0')}-0000-4000-8000-${mix(n).toString(16).padStart(12, '0')}`;

/** Event `n` of the synthetic traffic: a transaction as the archive stores it, and its score. */
function eventRows(n: number, partition: number, offset: number): { transaction: ArchiveRow; score: ArchiveRow } {
  const h = mix(n);
  const time = START + Math.floor((n * 1000) / RATE);
  const eventId = uuid(n);
  const customerId = `c-${h % 200_000}`;
  const amountEur = ((h >>> 8) % 50_000) / 100;
  const tx = {
    eventId,
    customerId,
    merchantId: `m-${h % 5_000}`,
    mcc: MCCS[h % MCCS.length],
    amount: amountEur.toFixed(2),
    currency: 'EUR',
    country: COUNTRIES[(h >>> 4) % COUNTRIES.length],
    channel: CHANNELS[(h >>> 12) % CHANNELS.length],
    deviceId: `d-${h % 300_000}`,
    eventTime: new Date(time).toISOString(),
  };
  const key = Buffer.from(customerId);
  const value = Buffer.from(JSON.stringify(tx));
  const source = [partition, BigInt(offset), new Date(time + 20)];
  const transaction = {
    time,
    values: [
      ...source,
      key,
      value,
      null,
      eventId,
      customerId,
      tx.merchantId,
      tx.mcc,
      tx.amount,
      amountEur,
      'EUR',
      tx.country,
      tx.channel,
      tx.deviceId,
      new Date(time),
    ],
  };
  // Skewed towards LOW, as the model's bands are.
  const score = Math.floor(((h >>> 16) % 1000) ** 2 / 1000);
  const band = BANDS.find(([below]) => score < below)![1];
  const factors = JSON.stringify([{ code: 'AMOUNT_ANOMALY', contribution: score, detail: 'synthetic' }]);
  return {
    transaction,
    score: { time, values: [...source, eventId, customerId, score, band, factors, 'bench-1', new Date(time), new Date(time + 40), null] },
  };
}

/**
 * The archive of `events` events, as `tollgraph worker archive` lays it out (10 partitions,
 * segments of 100,000 records of a partition, one Parquet object per event hour, written with
 * the archiver's encoder), into a directory. Rows are made directly, not decoded from a feed:
 * producing and decoding 10 million messages would take longer than the queries being measured.
 */
async function writeArchive(root: string, events: number, log: (line: string) => void): Promise<void> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const store = new DirectoryStore(root);
  const put = async (dataset: Dataset, topic: string, partition: number, from: number, rows: ArchiveRow[]) => {
    const hours = new Map<string, ArchiveRow[]>();
    for (const row of rows) {
      const hour = hourPartition(row.time);
      const list = hours.get(hour);
      if (list) list.push(row);
      else hours.set(hour, [row]);
    }
    for (const [hour, list] of hours) {
      const body = new Uint8Array(parquetWriteBuffer({ columnData: columnData(dataset, list) }));
      await store.put(objectKey('', dataset.name, hour, topic, partition, from, from + rows.length), body);
    }
  };
  const perPartition = Math.ceil(events / PARTITIONS);
  for (let from = 0; from < perPartition; from += SEGMENT_EVENTS) {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const transactions: ArchiveRow[] = [];
      const scores: ArchiveRow[] = [];
      for (let offset = from; offset < Math.min(from + SEGMENT_EVENTS, perPartition); offset++) {
        const n = offset * PARTITIONS + partition;
        if (n >= events) break;
        const rows = eventRows(n, partition, offset);
        transactions.push(rows.transaction);
        scores.push(rows.score);
      }
      await put(transactionsDataset, 'transactions', partition, from, transactions);
      await put(riskScoresDataset, 'risk-scores', partition, from, scores);
    }
    log(`analytics: ${Math.min((from + SEGMENT_EVENTS) * PARTITIONS, events)} of ${events} events archived`);
  }
}

/**
 * Analytics latency: fraud rates and scores by band over 10 million archived events (and their
 * 10 million scores) in Parquet, asked of one `tollgraph worker analytics` process over its
 * HTTP API, as the gateway asks it. Each question over the last hour and over the whole archive,
 * in turn, several times a run; p50 and p99 per run, medians over runs.
 */
export async function analyticsBenchmark(ctx: BenchContext): Promise<AnalyticsResult> {
  const events = ctx.smoke ? 200_000 : 10_000_000;
  const root = join(ROOT, '.data', `bench-analytics-${events}`);
  let generateSeconds = 0;
  // A complete directory from an earlier run is reused: the rows are the same for the same count.
  if (!existsSync(join(root, 'complete'))) {
    const began = Date.now();
    await rm(root, { recursive: true, force: true });
    await writeArchive(root, events, ctx.log);
    await writeFile(join(root, 'complete'), new Date().toISOString());
    generateSeconds = Math.round((Date.now() - began) / 1000);
  }
  const files = (await new DirectoryStore(root).list('')).filter((key) => key.endsWith('.parquet'));
  const megabytes = Math.round(files.reduce((sum, key) => sum + statSync(join(root, key)).size, 0) / 1e6);
  const end = START + Math.ceil((events * 1000) / RATE);
  const hours = Math.ceil((end - START) / HOUR);
  const windows: Record<string, { from: number; to: number }> = {
    'last hour': { from: Math.max(START, end - HOUR), to: end },
    [`all ${hours} hours`]: { from: START, to: end },
  };
  const questions: AnalyticsQueryName[] = ['fraud-rates', 'scores-by-band'];
  const samples = ctx.smoke ? 2 : 5;
  const runs = ctx.smoke ? 1 : 3;

  // The directory, not the S3 bucket the environment may name for the archive benchmark.
  const world = await createWorld(ctx.urls, { ARCHIVE_DIR: root, ARCHIVE_S3_BUCKET: '', ARCHIVE_S3_ENDPOINT: '' });
  const port = await freePort();
  const metricsPort = await freePort();
  const worker = runBuilt('bin/tollgraph.js', { ...world.env, LOG_LEVEL: 'warn' }, [
    'worker',
    'analytics',
    '--port',
    String(port),
    '--metrics-port',
    String(metricsPort),
  ]);
  try {
    await waitFor('the analytics worker to be ready', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok, 60_000, 50).catch((error) => {
      throw new Error(`${(error as Error).message}:\n${worker.output()}`);
    });
    const ask = async (request: Omit<AnalyticsRequest, 'limit'>) => {
      const began = performance.now();
      const response = await fetch(`http://127.0.0.1:${port}${ANALYTICS_PATH}`, { method: 'POST', body: JSON.stringify({ ...request, limit: 1000 }) });
      const body = (await response.json()) as { rows?: unknown[]; error?: string };
      if (!response.ok || !body.rows?.length) throw new Error(`analytics answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
      return performance.now() - began;
    };
    const latencies = new Map<string, { p50: number[]; p99: number[] }>();
    for (let run = 0; run < runs; run++) {
      for (const question of questions) {
        for (const [name, window] of Object.entries(windows)) {
          const times: number[] = [];
          for (let i = 0; i < samples; i++) times.push(await ask({ question, ...window }));
          const sorted = sortedCopy(times);
          const entry = latencies.get(`${question}|${name}`) ?? { p50: [], p99: [] };
          entry.p50.push(Math.round(percentile(sorted, 50)));
          entry.p99.push(Math.round(percentile(sorted, 99)));
          latencies.set(`${question}|${name}`, entry);
          ctx.log(`analytics run ${run + 1}: ${question} over ${name}: ${times.map(Math.round).join(', ')} ms`);
        }
      }
    }
    return {
      events,
      hours,
      objects: files.length,
      megabytes,
      generateSeconds,
      samplesPerRun: samples,
      queries: [...latencies].map(([id, { p50, p99 }]) => {
        const [question, window] = id.split('|');
        return { question: question as AnalyticsQueryName, window, p50Ms: figure(p50), p99Ms: figure(p99) };
      }),
    };
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await world.close();
  }
}
