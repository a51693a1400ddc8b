import { randomUUID } from 'node:crypto';
import { UsageLedger } from '../src/metering/ledger';
import type { BenchContext } from './context';
import { serviceProcesses, startCpuMeter } from './lib/cpu';
import { percentile, sortedCopy, figure, type Figure } from './lib/stats';
import { createWorld } from './lib/world';

export interface MeteringMode {
  name: 'group commit' | 'one insert per request';
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
}

const CONCURRENCY = 256;

/**
 * Benchmark 5: the usage ledger as the gateway uses it (UsageLedger.record awaited before the
 * response), CONCURRENCY requests in flight, with the gateway's group commit settings against
 * one INSERT per record (maxBatch 1), on the same pool and the same database.
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
    ];
    const measured = settings.map(() => ({ rate: [] as number[], p50: [] as number[], p99: [] as number[], postgresCpu: [] as number[] }));
    const { postgres } = serviceProcesses(world.env.DATABASE_URL);
    for (let run = 0; run < runs; run++) {
      for (const [i, setting] of settings.entries()) {
        const ledger = new UsageLedger(services.db.sql, { flushMs: setting.flushMs, maxBatch: setting.maxBatch }, services.logger);
        const latencies: number[] = [];
        const deadline = performance.now() + seconds * 1000;
        const began = performance.now();
        const cpu = startCpuMeter({ postgres });
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
    };
  } finally {
    await world.close();
  }
}
