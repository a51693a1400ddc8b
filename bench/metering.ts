import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertUsageJson, UsageLedger } from '../src/metering/ledger';
import { UsageSpool } from '../src/metering/spool';
import type { BenchContext } from './context';
import { serviceProcesses, startCpuMeter } from './lib/cpu';
import { percentile, sortedCopy, figure, type Figure } from './lib/stats';
import { createWorld } from './lib/world';

export interface MeteringMode {
  name: 'group commit' | 'one insert per request' | 'group commit into the spool';
  flushMs: number;
  maxBatch: number;
  /** records/s per run */
  rate: Figure;
  /** latency of `record()` (until the row is durable), per run */
  p50: Figure;
  p99: Figure;
  /** CPU µs of PostgreSQL (the benchmark database's backends) per record, per run */
  postgresCpu: Figure;
}

export interface MeteringResult {
  concurrency: number;
  seconds: number;
  poolSize: number;
  modes: MeteringMode[];
  /** group commit / one insert per request, paired per run */
  speedup: Figure;
  /** PostgreSQL CPU per record, group commit / the spool, paired per run */
  spoolPostgresSaving: Figure;
  spoolShipMs: number;
}

const CONCURRENCY = 256;

/**
 * Benchmark 5: the usage ledger as the gateway uses it (UsageLedger.record awaited before the
 * response), CONCURRENCY requests in flight, with the gateway's group commit settings against
 * one INSERT per record (maxBatch 1), on the same pool and the same database, and group commit
 * into the usage spool (appended and flushed to local disk, shipped to the same table in bulk).
 */
export async function meteringBenchmark(ctx: BenchContext): Promise<MeteringResult> {
  const { smoke, log } = ctx;
  const world = await createWorld(ctx.urls);
  try {
    const { services } = world;
    const seconds = smoke ? 2 : 5;
    const runs = smoke ? 1 : 3;
    const settings = [
      { name: 'group commit' as const, flushMs: services.config.METERING_FLUSH_MS, maxBatch: services.config.METERING_MAX_BATCH },
      { name: 'one insert per request' as const, flushMs: 0, maxBatch: 1 },
      { name: 'group commit into the spool' as const, flushMs: services.config.METERING_FLUSH_MS, maxBatch: services.config.METERING_MAX_BATCH },
    ];
    const measured = settings.map(() => ({ rate: [] as number[], p50: [] as number[], p99: [] as number[], postgresCpu: [] as number[] }));
    const { postgres } = serviceProcesses(world.env.DATABASE_URL);
    for (let run = 0; run < runs; run++) {
      for (const [i, setting] of settings.entries()) {
        const latencies: number[] = [];
        const deadline = performance.now() + seconds * 1000;
        const began = performance.now();
        const cpu = startCpuMeter({ postgres });
        const spoolDir = setting.name === 'group commit into the spool' ? await mkdtemp(join(tmpdir(), 'tg-bench-spool-')) : undefined;
        const spool = spoolDir
          ? await UsageSpool.open(
              {
                dir: spoolDir,
                shipMs: services.config.METERING_SPOOL_SHIP_MS,
                staleMs: services.config.METERING_SPOOL_STALE_MS,
                fsyncMs: services.config.METERING_SPOOL_FSYNC_MS,
                ship: (json) => insertUsageJson(services.db.sql, json),
              },
              services.logger,
            )
          : undefined;
        const ledger = new UsageLedger(
          services.db.sql,
          { flushMs: setting.flushMs, maxBatch: setting.maxBatch, sink: spool && ((entries) => spool.append(entries)) },
          services.logger,
        );
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (performance.now() < deadline) {
              const t = performance.now();
              await ledger.record({
                requestId: randomUUID(),
                accountId: world.accountId,
                apiKeyId: world.apiKeyId,
                planCode: 'ENTERPRISE',
                operation: 'Bench',
                costUnits: 1,
                occurredAt: new Date(),
              });
              latencies.push(performance.now() - t);
            }
          }),
        );
        await ledger.drain();
        await spool?.close(); // every record in the table: the spool's rate counts its shipping
        if (spoolDir) await rm(spoolDir, { recursive: true });
        const elapsed = (performance.now() - began) / 1000;
        const sorted = sortedCopy(latencies);
        measured[i].rate.push(latencies.length / elapsed);
        measured[i].p50.push(percentile(sorted, 50));
        measured[i].p99.push(percentile(sorted, 99));
        const postgresCpu = cpu.perRequest(latencies.length).postgres;
        measured[i].postgresCpu.push(postgresCpu);
        log(
          `metering: ${setting.name} run ${run + 1}: ${Math.round(latencies.length / elapsed)} records/s, p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, PostgreSQL ${postgresCpu.toFixed(1)} µs/record`,
        );
      }
    }
    const modes: MeteringMode[] = settings.map((setting, i) => ({
      ...setting,
      rate: figure(measured[i].rate),
      p50: figure(measured[i].p50),
      p99: figure(measured[i].p99),
      postgresCpu: figure(measured[i].postgresCpu),
    }));
    return {
      concurrency: CONCURRENCY,
      seconds,
      poolSize: services.config.DATABASE_POOL_SIZE,
      modes,
      speedup: figure(measured[0].rate.map((rate, i) => rate / measured[1].rate[i])),
      spoolShipMs: services.config.METERING_SPOOL_SHIP_MS,
      spoolPostgresSaving: figure(measured[0].postgresCpu.map((cpu, i) => cpu / measured[2].postgresCpu[i])),
    };
  } finally {
    await world.close();
  }
}
