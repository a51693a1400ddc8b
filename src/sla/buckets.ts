/**
 * Latency buckets of the SLA records: upper bounds in milliseconds (inclusive), then one open
 * bucket above the last. 150 ms is a bound because it is a promise (PROFESSIONAL: riskScore p99
 * under 150 ms): the share of requests within it is exact, not interpolated.
 */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 150, 250, 500, 1_000, 2_500, 5_000] as const;

export const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export function bucketOf(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]) return i;
  return LATENCY_BOUNDS_MS.length;
}

/**
 * The `q` quantile (0-1) of the counts as the bound of the bucket it falls in (the latency it is
 * at most); null when it is in the open bucket (above the last bound) or there are no requests.
 */
export function quantileBound(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i] : null;
  }
  return null;
}

/** The share of requests answered within `boundMs` (a bucket bound). */
export function shareWithin(counts: readonly number[], boundMs: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const last = LATENCY_BOUNDS_MS.indexOf(boundMs as (typeof LATENCY_BOUNDS_MS)[number]);
  if (last < 0) throw new Error(`${boundMs} ms is not a bucket bound`);
  return counts.slice(0, last + 1).reduce((sum, n) => sum + n, 0) / total;
}
