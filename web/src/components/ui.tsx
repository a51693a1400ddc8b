import { useEffect, useId, useState, type ReactNode } from 'react';
import type { ApiError } from '../api';
import { formatReset } from '../format';

export function Panel({
  title,
  actions,
  children,
  className,
  labelId,
}: {
  title: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  labelId?: string;
}) {
  const generated = useId();
  const id = labelId ?? generated;
  return (
    <section className={`panel ${className ?? ''}`} aria-labelledby={id}>
      <header className="panel-header">
        <h2 id={id}>{title}</h2>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status">
      {what}…
    </p>
  );
}

/** A second-by-second clock for countdowns ("resets in 5 h 3 min"). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function errorTitle(error: ApiError): string {
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return '401 · Key not accepted';
    case 'FORBIDDEN':
      return '403 · Not allowed with this key';
    case 'QUOTA_EXCEEDED':
      return '429 · Daily quota spent';
    case 'RATE_LIMITED':
      return '429 · Too many requests';
    case 'SERVICE_UNAVAILABLE':
      return '503 · Service unavailable';
    case 'NETWORK':
      return 'Gateway unreachable';
    default:
      return error.status >= 400 ? `${error.status} · ${error.code}` : error.code;
  }
}

/** What to tell a person about an error, with the reset time of a 429. */
export function ErrorState({ error, onRetry, compact }: { error: ApiError; onRetry?: () => void; compact?: boolean }) {
  useNow(error.isRateLimit ? 1000 : 60_000);
  const retryAt = error.retryAt();
  const hint =
    error.code === 'UNAUTHENTICATED'
      ? 'The key is missing, unknown, revoked or expired. Sign in again with a valid key.'
      : error.code === 'FORBIDDEN'
        ? 'This needs a key with the ADMIN role, or a plan that includes it.'
        : error.code === 'QUOTA_EXCEEDED'
          ? `Paid queries are refused until the quota resets${error.upgradeTo ? `; the ${error.upgradeTo} plan allows more` : ''}. Free queries (usage, quota, plans, catalog) still work.`
          : undefined;
  return (
    <div className={`error-state ${error.isRateLimit ? 'is-rate-limit' : ''} ${compact ? 'compact' : ''}`} role="alert" data-error-code={error.code}>
      <p className="error-title">
        <strong>{errorTitle(error)}</strong>
      </p>
      <p>{error.message}</p>
      {retryAt && (
        <p>
          {error.code === 'QUOTA_EXCEEDED' ? 'Resets at ' : 'Retry at '}
          <time dateTime={retryAt.toISOString()}>{formatReset(retryAt)}</time>
        </p>
      )}
      {hint && <p className="muted">{hint}</p>}
      {onRetry && (
        <button type="button" className="button secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export const BANDS = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Band = (typeof BANDS)[number];

export function BandBadge({ band }: { band: Band }) {
  return <span className={`band band-${band.toLowerCase()}`}>{band}</span>;
}

export function StatusBadge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'neutral'; children: ReactNode }) {
  return <span className={`status status-${tone}`}>{children}</span>;
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('copied');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <>
      <button type="button" className="button" onClick={copy}>
        {label}
      </button>
      <span className="copy-status" role="status">
        {copied === 'copied' ? 'Copied to the clipboard' : copied === 'failed' ? 'Could not copy: select the text and copy it' : ''}
      </span>
    </>
  );
}

/** A horizontally scrollable table wrapper, focusable so keyboard users can scroll it. */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** A table's header row: one column header per name, and an unlabelled-to-sight actions column. */
export function TableHead({ columns, actions = false }: { columns: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column} scope="col">
            {column}
          </th>
        ))}
        {actions && (
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}
