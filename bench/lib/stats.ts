/** Small statistics for benchmark runs: percentiles of samples, median and spread of runs. */

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function sortedCopy(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export interface Percentiles {
  p50Ms: number;
  p99Ms: number;
}

/** The median and p99 of samples in milliseconds. */
export function percentiles(values: number[]): Percentiles {
  const sorted = sortedCopy(values);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

/** Samples sorted with `missing` more that never came (counted as the slowest). */
export function withMissing(values: number[], missing: number): Float64Array {
  return sortedCopy([...values, ...Array.from({ length: missing }, () => Number.POSITIVE_INFINITY)]);
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Spread of runs: (max - min) / median, as a share (0.05 = runs within 5 % of each other). */
export function spread(values: number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  return m === 0 ? 0 : (Math.max(...values) - Math.min(...values)) / Math.abs(m);
}

/** A figure measured over several runs. */
export interface Figure {
  runs: number[];
  median: number;
  min: number;
  max: number;
  spread: number;
}

export function figure(runs: number[]): Figure {
  return { runs, median: median(runs), min: Math.min(...runs), max: Math.max(...runs), spread: spread(runs) };
}

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const pct = (share: number, digits = 0) => (Number.isFinite(share) ? `${(share * 100).toFixed(digits)} %` : 'n/a');

/** "median (min-max)" */
export function fmtFigure(f: Figure, digits = 0, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  if (f.runs.length === 1) return `${fmt(f.median, digits)}${u}`;
  return `${fmt(f.median, digits)}${u} (${fmt(f.min, digits)}–${fmt(f.max, digits)})`;
}
