/** A Prometheus histogram as scraped: cumulative counts per upper bound, plus sum and count. */
export interface HistogramSnapshot {
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

/** Reads one histogram (all label sets added up) from a /metrics text exposition. */
export async function scrapeHistogram(baseUrl: string, name: string, labels = ''): Promise<HistogramSnapshot> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const byBound = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (labels && !line.includes(labels))) continue;
    const [series, value] = line.split(' ');
    const n = Number(value);
    if (series.startsWith(`${name}_bucket`)) {
      const le = /le="([^"]+)"/.exec(series)?.[1];
      const bound = le === '+Inf' ? Infinity : Number(le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + n);
    } else if (series.startsWith(`${name}_sum`)) sum += n;
    else if (series.startsWith(`${name}_count`)) count += n;
  }
  return { buckets: [...byBound].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le), sum, count };
}

/** What was observed between two scrapes. */
export function histogramDelta(before: HistogramSnapshot, after: HistogramSnapshot): HistogramSnapshot {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** The smallest bucket bound at or under which a share `q` of the observations fell (a quantile's upper bound). */
export function quantileBound(histogram: HistogramSnapshot, q: number): number {
  const wanted = q * histogram.count;
  return histogram.buckets.find((b) => b.count >= wanted)?.le ?? Infinity;
}
