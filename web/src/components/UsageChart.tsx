import { useId, useMemo } from 'react';
import { formatCompact, formatDay, formatInt } from '../format';
import { TableHead } from './ui';

export interface UsageBucket {
  start: string;
  end: string;
  requests: number;
  costUnits: number;
  reportedUnits: number;
  pendingUnits: number;
}

const DAY_MS = 86_400_000;
const WIDTH = 900;
const HEIGHT = 220;
const PAD = { top: 12, right: 28, bottom: 28, left: 52 };

/** The UTC days of the window, oldest first, with days without usage as zero. */
export function fillDays(buckets: UsageBucket[], days: number, now = Date.now()): UsageBucket[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const byStart = new Map(buckets.map((bucket) => [Date.parse(bucket.start), bucket]));
  return Array.from({ length: days }, (_, index) => {
    const start = today - (days - 1 - index) * DAY_MS;
    return (
      byStart.get(start) ?? {
        start: new Date(start).toISOString(),
        end: new Date(start + DAY_MS).toISOString(),
        requests: 0,
        costUnits: 0,
        reportedUnits: 0,
        pendingUnits: 0,
      }
    );
  });
}

function niceMax(value: number): number {
  if (value <= 0) return 10;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}

/** Cost units per UTC day as bars (reported to Stripe vs pending), with a table for screen readers. */
export function UsageChart({ buckets, days = 30 }: { buckets: UsageBucket[]; days?: number }) {
  const titleId = useId();
  const series = useMemo(() => fillDays(buckets, days), [buckets, days]);
  const max = niceMax(Math.max(...series.map((b) => b.costUnits)));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const slot = innerW / series.length;
  const barW = Math.max(2, slot * 0.7);
  const y = (units: number) => PAD.top + innerH - (units / max) * innerH;
  const total = series.reduce((sum, b) => sum + b.costUnits, 0);
  const requests = series.reduce((sum, b) => sum + b.requests, 0);
  const pending = series.reduce((sum, b) => sum + b.pendingUnits, 0);

  return (
    <figure className="chart">
      <dl className="facts inline">
        <div>
          <dt>Cost units, {days} days</dt>
          <dd data-testid="usage-total">{formatInt(total)}</dd>
        </div>
        <div>
          <dt>Requests</dt>
          <dd>{formatInt(requests)}</dd>
        </div>
        <div>
          <dt>Not yet reported to Stripe</dt>
          <dd>{formatInt(pending)}</dd>
        </div>
      </dl>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={titleId} className="chart-svg">
        <title id={titleId}>{`Cost units per day over the last ${days} days; ${formatInt(total)} in all`}</title>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(max * f)} y2={y(max * f)} className="chart-grid" />
            <text x={PAD.left - 6} y={y(max * f) + 4} textAnchor="end" className="chart-label">
              {formatCompact(max * f)}
            </text>
          </g>
        ))}
        {series.map((bucket, index) => {
          const x = PAD.left + index * slot + (slot - barW) / 2;
          const reported = bucket.costUnits - bucket.pendingUnits;
          return (
            <g key={bucket.start}>
              <title>{`${formatDay(bucket.start)}: ${formatInt(bucket.costUnits)} units, ${formatInt(bucket.requests)} requests`}</title>
              <rect x={x} width={barW} y={y(bucket.costUnits)} height={Math.max(0, y(0) - y(bucket.costUnits))} className="chart-bar-pending" />
              <rect x={x} width={barW} y={y(reported)} height={Math.max(0, y(0) - y(reported))} className="chart-bar" />
              {index % 5 === (series.length - 1) % 5 && (
                <text x={x + barW / 2} y={HEIGHT - 8} textAnchor="middle" className="chart-label">
                  {formatDay(bucket.start)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        <span className="swatch swatch-reported" aria-hidden="true" /> reported to Stripe
        <span className="swatch swatch-pending" aria-hidden="true" /> pending
      </figcaption>
      <details className="chart-table">
        <summary>Show as a table</summary>
        <table>
          <caption className="visually-hidden">Usage per UTC day</caption>
          <TableHead columns={['Day (UTC)', 'Requests', 'Cost units', 'Pending']} />
          <tbody>
            {series
              .filter((b) => b.requests > 0)
              .reverse()
              .map((b) => (
                <tr key={b.start}>
                  <th scope="row">{formatDay(b.start)}</th>
                  <td>{formatInt(b.requests)}</td>
                  <td>{formatInt(b.costUnits)}</td>
                  <td>{formatInt(b.pendingUnits)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
