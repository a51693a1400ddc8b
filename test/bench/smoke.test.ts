import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECTIONS } from '../../bench/report';

const ROOT = join(__dirname, '..', '..');

/**
 * `npm run bench -- --smoke`: every benchmark runs for a few seconds against the real services
 * and the report has every section, with figures. No speed is asserted: this machine is shared
 * and noisy; BENCHMARKS.md is where the figures are read.
 */
describe('benchmarks (smoke)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgraph-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('run end to end and write a report with every section and its numbers', async () => {
    const out = join(dir, 'BENCHMARKS.md');
    const run = spawn('npm', ['run', 'bench', '--silent', '--', '--smoke', '--out', out], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    run.stdout.on('data', (chunk) => (output += chunk));
    run.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));
    if (code !== 0) throw new Error(`npm run bench -- --smoke exited ${code}:\n${output.slice(-6000)}`);

    const report = readFileSync(out, 'utf8');
    const at = SECTIONS.map((section) => report.indexOf(`\n${section}`));
    expect(SECTIONS.filter((_, i) => at[i] < 0)).toEqual([]);
    for (const [i, section] of SECTIONS.entries()) {
      const body = report.slice(at[i], i + 1 < SECTIONS.length ? at[i + 1] : undefined);
      if (section === '## Method' || section === '## What was optimised') continue; // prose
      // A table with at least one figure in it, and no figure that failed to be measured.
      expect({ section, hasFigures: /^\|.*\d.*\|$/m.test(body) }).toEqual({ section, hasFigures: true });
      expect({ section, unmeasured: /\bNaN\b|n\/a/.test(body) }).toEqual({ section, unmeasured: false });
    }

    const results = JSON.parse(readFileSync(join(dir, 'BENCHMARKS.json'), 'utf8'));
    const positive = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value > 0;
    expect(positive(results.gateway.overhead.bareRps.median)).toBe(true);
    expect(positive(results.gateway.overhead.fullRps.median)).toBe(true);
    // Each side's maximum is measured with the connection count of the sweep that gave it its best rate.
    type Point = { connections: number; bare: number; full: number };
    const { saturation, connections } = results.gateway.overhead as { saturation: Point[]; connections: { bare: number; full: number } };
    expect(saturation.every((point) => positive(point.bare) && positive(point.full))).toBe(true);
    for (const side of ['bare', 'full'] as const)
      expect(saturation.find((point) => point.connections === connections[side])?.[side]).toBe(Math.max(...saturation.map((point) => point[side])));
    expect(results.gateway.riskQueries.map((q: { p99: { median: number } }) => positive(q.p99.median))).toEqual([true, true, true, true, true]);
    expect(
      [
        results.ingestion.rates.kafkajs.median,
        results.ingestion.rates.platformatic.median,
        results.ingestion.rates.pipeline.median,
        results.ingestion.pipelineScored.median,
      ].every(positive),
    ).toBe(true);
    expect(results.freshness.runs.length).toBeGreaterThan(0);
    expect(results.freshness.runs.every((run: { p50Ms: number; samples: number }) => positive(run.samples) && Number.isFinite(run.p50Ms))).toBe(true);
    // Readable comes from the gateway's clock; the split from the consumer's: both present, and neither after the answer arrived.
    type Split = { p50Ms: number; answered: { p50Ms: number }; split: { scored: { p50Ms: number }; read: { p50Ms: number } } };
    expect(
      results.freshness.runs.every(
        (run: Split) => Number.isFinite(run.split.scored.p50Ms) && Number.isFinite(run.split.read.p50Ms) && run.p50Ms <= run.answered.p50Ms,
      ),
    ).toBe(true);
    // The floor: the least a consumer does before a score is readable, measured the same way.
    expect(results.freshness.floor.runs.every((run: { p99Ms: number; samples: number }) => positive(run.samples) && Number.isFinite(run.p99Ms))).toBe(true);
    expect(results.metering.modes.every((mode: { rate: { median: number } }) => positive(mode.rate.median))).toBe(true);
    // Every attack answered (what it answered is reported, not asserted: the report says when it is not the expected status).
    // Shedding on and off, each with the ENTERPRISE load measured alone and beside the attack.
    expect(
      results.overload.runs.map((run: { policy: string; unloaded: { samples: number }; loaded: { samples: number } }) => [
        run.policy,
        positive(run.unloaded.samples) && positive(run.loaded.samples),
      ]),
    ).toEqual([
      ['off', true],
      ['defaults', true],
      ['tight', true],
      ['queued', true],
      ['dedicated', true],
      ['edge', true],
      ['reserved', true],
    ]);
    expect([results.avro.json.median, results.avro.jsonWithReader.median, results.avro.avro.median, results.avro.mixed.median].every(positive)).toBe(true);
    // The archiver's CPU is metered from its readiness; a smoke run's 20,000 events may be archived
    // before the meter's first sample (a clean-clone run measured 0.0 µs an event), so only its
    // presence is checked here; the full run's million events are what BENCHMARKS.md reports.
    expect(
      results.archive.runs.map((run: { eventsPerSecond: number; archiverCpuMicros: number; parquetBytesPerEvent: number }) => [
        positive(run.eventsPerSecond),
        run.archiverCpuMicros >= 0,
        positive(run.parquetBytesPerEvent),
      ]),
    ).toEqual([[true, true, true]]);
    expect(
      results.refusals.attacks.every((attack: { requests: number; wall: { failures: number } }) => positive(attack.requests) && attack.wall.failures === 0),
    ).toBe(true);
  }, 600_000);
});
