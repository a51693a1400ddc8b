import type { PortalOverviewQuery } from '../generated/graphql';
import { formatInt, formatReset } from '../format';
import { useNow } from './ui';

/** Where the account stands: the `rateLimit` field the overview asks for. */
export type RateLimitStatus = PortalOverviewQuery['rateLimit'];

const RADIUS = 52;
const CIRCUMFERENCE = 2 * Math.PI * RADIUS;

function tone(share: number): 'ok' | 'warn' | 'bad' {
  return share >= 1 ? 'bad' : share >= 0.8 ? 'warn' : 'ok';
}

/** Today's quota (from `rateLimit`) as a ring, with the figures in words beside it. */
export function QuotaGauge({ status }: { status: RateLimitStatus }) {
  useNow(30_000);
  const share = status.limit > 0 ? Math.min(1, status.used / status.limit) : 1;
  const percent = Math.round(share * 1000) / 10;
  const level = tone(share);
  return (
    <div className="gauge">
      <div
        className={`gauge-ring gauge-${level}`}
        role="meter"
        aria-label="Daily quota used"
        aria-valuemin={0}
        aria-valuemax={status.limit}
        aria-valuenow={Math.min(status.used, status.limit)}
        aria-valuetext={`${formatInt(status.used)} of ${formatInt(status.limit)} cost units used (${percent} %)`}
      >
        <svg viewBox="0 0 120 120" width="140" height="140" aria-hidden="true" focusable="false">
          <circle cx="60" cy="60" r={RADIUS} className="gauge-track" />
          {share > 0 && (
            <circle
              cx="60"
              cy="60"
              r={RADIUS}
              className="gauge-value"
              strokeDasharray={`${CIRCUMFERENCE * share} ${CIRCUMFERENCE}`}
              transform="rotate(-90 60 60)"
            />
          )}
          <text x="60" y="58" textAnchor="middle" className="gauge-percent">
            {percent} %
          </text>
          <text x="60" y="76" textAnchor="middle" className="gauge-caption">
            used today
          </text>
        </svg>
      </div>
      <dl className="facts">
        <div>
          <dt>Used</dt>
          <dd data-testid="quota-used">{formatInt(status.used)}</dd>
        </div>
        <div>
          <dt>Remaining</dt>
          <dd data-testid="quota-remaining">{formatInt(status.remaining)}</dd>
        </div>
        <div>
          <dt>Daily quota</dt>
          <dd data-testid="quota-limit">{formatInt(status.limit)}</dd>
        </div>
        <div>
          <dt>Resets</dt>
          <dd>
            <time dateTime={status.resetAt}>{formatReset(new Date(status.resetAt))}</time>
          </dd>
        </div>
        <div>
          <dt>Burst</dt>
          <dd>
            {formatInt(status.burst.remaining)} of {formatInt(status.burst.limit)} units/s free
          </dd>
        </div>
      </dl>
      {level !== 'ok' && (
        <p className={`note note-${level}`} role="status">
          {level === 'bad' ? 'The daily quota is spent: paid queries get 429 QUOTA_EXCEEDED until it resets.' : 'Over 80 % of today’s quota is used.'}
        </p>
      )}
      {status.degraded && <p className="note note-warn">Limits are enforced per gateway process right now (Redis is unreachable); figures may lag.</p>}
    </div>
  );
}
