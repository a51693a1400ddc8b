import type { AdminAuditQuery } from '../../generated/graphql';
import { useEffect, useState } from 'react';
import { useQuery } from '../../client';
import { ErrorState, Loading, Panel, TableHead, TableWrap } from '../../components/ui';
import { formatDateTime } from '../../format';

type AuditEntry = AdminAuditQuery['auditLog']['nodes'][number];

const PAGE = 25;

const AUDIT = /* GraphQL */ `
  query AdminAudit($first: Int!, $after: String) {
    auditLog(first: $first, after: $after) {
      nodes { id at action actorType actorAccountId targetType targetId before after }
      pageInfo { endCursor hasNextPage }
    }
  }
`;

/** What changed between before and after, as "field: old → new". */
export function changes(before: unknown, after: unknown): string {
  if (!after || typeof after !== 'object') return after === undefined || after === null ? '' : JSON.stringify(after);
  const previous = before && typeof before === 'object' ? (before as Record<string, unknown>) : {};
  return Object.entries(after as Record<string, unknown>)
    .filter(([name, value]) => JSON.stringify(previous[name]) !== JSON.stringify(value))
    .map(([name, value]) => (name in previous ? `${name}: ${JSON.stringify(previous[name])} → ${JSON.stringify(value)}` : `${name}: ${JSON.stringify(value)}`))
    .join('; ');
}

export function Audit() {
  const [after, setAfter] = useState<string | null>(null);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const page = useQuery<AdminAuditQuery>(AUDIT, { first: PAGE, after });

  useEffect(() => {
    if (!page.data) return;
    const nodes = page.data.auditLog.nodes;
    setEntries((current) => (after === null ? nodes : [...current, ...nodes.filter((n) => !current.some((c) => c.id === n.id))]));
  }, [page.data, after]);

  return (
    <Panel
      title="Audit log"
      actions={
        <button
          type="button"
          className="button secondary"
          onClick={() => {
            if (after === null) page.reload();
            else setAfter(null);
          }}
        >
          Newest
        </button>
      }
    >
      <p className="muted small">
        Every administrative change: who, what, when, before and after. {PAGE} entries cost {PAGE + 1} units.
      </p>
      {page.error && <ErrorState error={page.error} onRetry={page.reload} compact />}
      {entries.length === 0 && !page.error && <Loading what="Loading the audit log" />}
      {entries.length > 0 && (
        <TableWrap label="Audit log">
          <table className="table" data-testid="audit-table">
            <TableHead columns={['When', 'Action', 'By', 'Target', 'Change']} />
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{formatDateTime(entry.at)}</td>
                  <th scope="row">
                    <code>{entry.action}</code>
                  </th>
                  <td>
                    {entry.actorType}
                    {entry.actorAccountId && <span className="muted small"> {entry.actorAccountId.slice(0, 8)}</span>}
                  </td>
                  <td>
                    {entry.targetType} <span className="muted small">{entry.targetId?.slice(0, 8)}</span>
                  </td>
                  <td className="change">{changes(entry.before, entry.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {page.data?.auditLog.pageInfo.hasNextPage && (
        <button type="button" className="button secondary" disabled={page.loading} onClick={() => setAfter(page.data?.auditLog.pageInfo.endCursor ?? null)}>
          Older entries
        </button>
      )}
    </Panel>
  );
}
