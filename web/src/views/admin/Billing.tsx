import { useMemo, useState } from 'react';
import { useMutation, useQuery } from '../../client';
import { ErrorState, Loading, Panel, StatusBadge, TableHead, TableWrap } from '../../components/ui';
import { formatDateTime, formatInt } from '../../format';
import type { AdminReapplyMutation, AdminReconciliationQuery, AdminStripeEventsQuery } from '../../generated/graphql';

const RECONCILIATION = /* GraphQL */ `
  query AdminReconciliation($from: DateTime!, $to: DateTime!) {
    billingReconciliation(from: $from, to: $to) {
      accountId stripeCustomerId ledgerUnits reportedUnits pendingUnits failedUnits tooOldUnits stripeUnits difference causes
      windows { windowStart windowEnd reportedUnits stripeUnits cause }
    }
    meterReports { id accountId identifier windowStart units status attempts lastError }
    quotaAlerts { id accountId day threshold quota usedUnits createdAt }
    accounts(first: 50) { nodes { id name } }
  }
`;

const STRIPE_EVENTS = /* GraphQL */ `
  query AdminStripeEvents($status: StripeEventStatus) {
    stripeEvents(first: 25, status: $status) {
      nodes { id type status attempts error objectId stripeCreatedAt receivedAt processedAt }
    }
  }
`;

const REAPPLY = /* GraphQL */ `
  mutation AdminReapply($id: ID!) {
    reapplyStripeEvent(id: $id) { id status error }
  }
`;

function monthToDate(now = new Date()): { from: string; to: string } {
  return { from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(), to: now.toISOString() };
}

export function Billing() {
  const range = useMemo(() => monthToDate(), []);
  const data = useQuery<AdminReconciliationQuery>(RECONCILIATION, range);

  const names = new Map(data.data?.accounts.nodes.map((a) => [a.id, a.name]));
  const nameOf = (id: string) => names.get(id) ?? id.slice(0, 8);

  return (
    <div className="stack">
      <Panel
        title="Reconciliation, month to date"
        actions={
          <button type="button" className="button secondary" onClick={data.reload} disabled={data.loading}>
            Run again
          </button>
        }
      >
        <p className="muted small">
          The usage ledger against what was reported to Stripe’s meter, {formatDateTime(range.from)} to now. A difference of 0 means every unit is accounted
          for.
        </p>
        {data.error && <ErrorState error={data.error} onRetry={data.reload} compact />}
        {!data.data && !data.error && <Loading what="Reconciling" />}
        {data.data && (
          <TableWrap label="Reconciliation">
            <table className="table" data-testid="reconciliation-table">
              <TableHead columns={['Account', 'Ledger', 'Reported', 'Pending', 'Failed', 'Too old', 'Stripe', 'Difference', 'Causes']} />
              <tbody>
                {data.data.billingReconciliation.length === 0 && (
                  <tr>
                    <td colSpan={9} className="muted">
                      No usage this month yet.
                    </td>
                  </tr>
                )}
                {data.data.billingReconciliation.map((row) => (
                  <tr key={row.accountId}>
                    <th scope="row">{nameOf(row.accountId)}</th>
                    <td className="num">{formatInt(row.ledgerUnits)}</td>
                    <td className="num">{formatInt(row.reportedUnits)}</td>
                    <td className="num">{formatInt(row.pendingUnits)}</td>
                    <td className="num">{formatInt(row.failedUnits)}</td>
                    <td className="num">{formatInt(row.tooOldUnits)}</td>
                    <td className="num">{row.stripeUnits === null ? <span className="muted">not asked</span> : formatInt(row.stripeUnits)}</td>
                    <td className="num">
                      <StatusBadge tone={row.difference === 0 ? 'ok' : 'bad'}>{formatInt(row.difference)}</StatusBadge>
                    </td>
                    <td>
                      {row.causes.join('; ') || '—'}
                      {row.windows.length > 0 && <span className="muted small"> · {row.windows.length} hour(s) differ</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Panel>

      <div className="grid">
        <Panel title="Meter reports needing attention">
          {data.data &&
            (data.data.meterReports.length === 0 ? (
              <p className="muted">None: no report has failed or is too old for Stripe.</p>
            ) : (
              <TableWrap label="Meter reports">
                <table className="table">
                  <TableHead columns={['Window', 'Account', 'Units', 'Status', 'Last error']} />
                  <tbody>
                    {data.data.meterReports.map((report) => (
                      <tr key={report.id}>
                        <td>{formatDateTime(report.windowStart)}</td>
                        <td>{nameOf(report.accountId)}</td>
                        <td className="num">{formatInt(report.units)}</td>
                        <td>
                          <StatusBadge tone="bad">{report.status}</StatusBadge> <span className="muted small">{report.attempts} tries</span>
                        </td>
                        <td className="small">{report.lastError ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            ))}
        </Panel>
        <Panel title="Quota alerts today">
          {data.data &&
            (data.data.quotaAlerts.length === 0 ? (
              <p className="muted">No account crossed 80 % of its quota today.</p>
            ) : (
              <ul className="plain-list">
                {data.data.quotaAlerts.map((alert) => (
                  <li key={alert.id}>
                    <StatusBadge tone={alert.threshold >= 100 ? 'bad' : 'warn'}>{alert.threshold} %</StatusBadge> {nameOf(alert.accountId)}:{' '}
                    {formatInt(alert.usedUnits)} of {formatInt(alert.quota)} units · {formatDateTime(alert.createdAt)}
                  </li>
                ))}
              </ul>
            ))}
        </Panel>
      </div>
      <StripeEvents />
    </div>
  );
}

const EVENT_STATUSES = ['', 'FAILED', 'PROCESSED', 'IGNORED', 'RECEIVED'] as const;

function StripeEvents() {
  const [status, setStatus] = useState<(typeof EVENT_STATUSES)[number]>('');
  const events = useQuery<AdminStripeEventsQuery>(STRIPE_EVENTS, {
    status: status || null,
  });
  const reapply = useMutation<AdminReapplyMutation>(REAPPLY);
  return (
    <Panel
      title="Stripe webhook events"
      actions={
        <label className="inline-field">
          <span>Status</span>
          <select value={status} onChange={(e) => setStatus(e.target.value as (typeof EVENT_STATUSES)[number])}>
            {EVENT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {events.error && <ErrorState error={events.error} onRetry={events.reload} compact />}
      {reapply.error && <ErrorState error={reapply.error} compact />}
      {reapply.data && (
        <p className="note" role="status">
          {reapply.data.reapplyStripeEvent.id}: {reapply.data.reapplyStripeEvent.status}
          {reapply.data.reapplyStripeEvent.error ? ` (${reapply.data.reapplyStripeEvent.error})` : ''}
        </p>
      )}
      {events.data &&
        (events.data.stripeEvents.nodes.length === 0 ? (
          <p className="muted">No events{status ? ` with status ${status}` : ''}. Point a Stripe webhook at /webhooks/stripe to receive them.</p>
        ) : (
          <TableWrap label="Stripe events">
            <table className="table">
              <TableHead columns={['At Stripe', 'Type', 'Status', 'Object', 'Error']} actions />
              <tbody>
                {events.data.stripeEvents.nodes.map((event) => (
                  <tr key={event.id}>
                    <td>{formatDateTime(event.stripeCreatedAt)}</td>
                    <th scope="row">
                      <code>{event.type}</code>
                    </th>
                    <td>
                      <StatusBadge tone={event.status === 'FAILED' ? 'bad' : event.status === 'PROCESSED' ? 'ok' : 'neutral'}>{event.status}</StatusBadge>
                    </td>
                    <td>
                      <code className="small">{event.objectId ?? '—'}</code>
                    </td>
                    <td className="small">{event.error ?? '—'}</td>
                    <td className="actions">
                      {event.status === 'FAILED' && (
                        <button
                          type="button"
                          className="button secondary"
                          disabled={reapply.busy}
                          onClick={async () => (await reapply.run({ id: event.id })) && events.reload()}
                        >
                          Re-apply
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        ))}
    </Panel>
  );
}
