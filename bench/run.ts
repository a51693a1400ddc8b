/**
 * `npm run bench`: every benchmark of BENCHMARKS.md, bounded in time, loopback only, on the real
 * services (started as `npm test` starts them when their variables are unset).
 *
 *   npm run bench                     full runs (about 30 minutes), writes BENCHMARKS.md
 *   npm run bench -- --smoke          a few seconds each (CI proves they still work)
 *   npm run bench -- --out FILE       write the report elsewhere (raw figures: FILE.json; default bench/results.json)
 *   npm run bench -- --profile        also write CPU profiles of every server and consumer to bench/.profiles/
 *   npm run bench -- --only gateway   run some benchmarks (gateway, ingestion, freshness, metering, refusals, overload, avro, archive, analytics, operators) while working on
 *                                     one; prints their raw figures and writes no report
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { archiveBenchmark } from './archive';
import { analyticsBenchmark } from './analytics';
import { avroBenchmark } from './avro';
import type { BenchContext } from './context';
import { freshnessBenchmark } from './freshness';
import { operatorsBenchmark } from './operators';
import { gatewayBenchmarks } from './gateway';
import { ingestionBenchmark } from './ingestion';
import { ensureServices, ROOT } from './lib/common';
import { describeMachine } from './machine';
import { meteringBenchmark } from './metering';
import { overloadBenchmark } from './overload';
import { refusalsBenchmark } from './refusals';
import { renderReport, type BenchResults } from './report';

export interface BenchOptions {
  smoke: boolean;
  out: string;
  profile: boolean;
  only?: BenchName[];
  log?: (line: string) => void;
}

const BENCH_NAMES = ['gateway', 'ingestion', 'freshness', 'metering', 'refusals', 'overload', 'avro', 'archive', 'analytics', 'operators'] as const;
type BenchName = (typeof BENCH_NAMES)[number];

function parseOnly(list: string): BenchName[] {
  const names = list.split(',').filter(Boolean);
  const unknown = names.filter((name) => !(BENCH_NAMES as readonly string[]).includes(name));
  if (unknown.length || !names.length) throw new Error(`--only expects a comma-separated list of ${BENCH_NAMES.join(', ')}; got "${list}"`);
  return names as BenchName[];
}

export function parseArgs(argv: string[]): BenchOptions {
  const options: BenchOptions = { smoke: false, out: join(ROOT, 'BENCHMARKS.md'), profile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--smoke') options.smoke = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--out') options.out = resolve(argv[++i] ?? '');
    else if (arg.startsWith('--out=')) options.out = resolve(arg.slice(6));
    else if (arg === '--only') options.only = parseOnly(argv[++i] ?? '');
    else if (arg.startsWith('--only=')) options.only = parseOnly(arg.slice(7));
    else throw new Error(`unknown argument ${arg} (expected --smoke, --out FILE, --profile, --only LIST)`);
  }
  return options;
}

export async function runBenchmarks(options: BenchOptions): Promise<BenchResults> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[bench] ${line}\n`));
  const began = Date.now();
  const urls = await ensureServices(log);
  const profileDir = options.profile ? join(ROOT, 'bench', '.profiles', new Date(began).toISOString().replace(/[:.]/g, '-')) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx: BenchContext = { smoke: options.smoke, urls, log, profileDir };

  const machine = await describeMachine(urls);
  log(`machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ${options.smoke ? 'smoke run' : 'full run'}`);
  const runs: Record<BenchName, () => Promise<unknown>> = {
    gateway: () => gatewayBenchmarks(ctx),
    ingestion: () => ingestionBenchmark(ctx),
    freshness: () => freshnessBenchmark(ctx),
    metering: () => meteringBenchmark(ctx),
    refusals: () => refusalsBenchmark(ctx),
    overload: () => overloadBenchmark(ctx),
    avro: () => avroBenchmark(ctx),
    archive: () => archiveBenchmark(ctx),
    analytics: () => analyticsBenchmark(ctx),
    operators: () => operatorsBenchmark(ctx),
  };
  if (options.only) {
    const partial: Record<string, unknown> = {};
    for (const name of options.only) {
      log(`${name} (only)`);
      partial[name] = await runs[name]();
    }
    process.stdout.write(`${JSON.stringify(partial, null, 2)}\n`);
    return partial as unknown as BenchResults;
  }
  log('1-2. gateway overhead and risk query latency');
  const gateway = (await runs.gateway()) as BenchResults['gateway'];
  log('3. ingestion');
  const ingestion = (await runs.ingestion()) as BenchResults['ingestion'];
  log('4. freshness');
  const freshness = (await runs.freshness()) as BenchResults['freshness'];
  log('5. metering');
  const metering = (await runs.metering()) as BenchResults['metering'];
  log('6. refusals before execution');
  const refusals = (await runs.refusals()) as BenchResults['refusals'];
  log('7. overload');
  const overload = (await runs.overload()) as BenchResults['overload'];
  log('8. Avro decoding');
  const avro = (await runs.avro()) as BenchResults['avro'];
  log('9. archive');
  const archive = (await runs.archive()) as BenchResults['archive'];
  log('9. analytics');
  const analytics = (await runs.analytics()) as BenchResults['analytics'];
  log('10. stream operators');
  const operators = (await runs.operators()) as BenchResults['operators'];

  const results: BenchResults = {
    startedAt: new Date(began).toISOString(),
    minutes: (Date.now() - began) / 60_000,
    smoke: options.smoke,
    machine,
    gateway,
    ingestion,
    freshness,
    metering,
    refusals,
    overload,
    avro,
    archive,
    analytics,
    operators,
  };
  writeFileSync(options.out, renderReport(results));
  // The raw figures beside the report (bench/results.json for BENCHMARKS.md).
  const json = options.out === join(ROOT, 'BENCHMARKS.md') ? join(ROOT, 'bench', 'results.json') : `${options.out.replace(/\.md$/, '')}.json`;
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${options.out} in ${results.minutes.toFixed(1)} min${profileDir ? `; profiles in ${profileDir}` : ''}`);
  return results;
}

if (require.main === module) {
  runBenchmarks(parseArgs(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
