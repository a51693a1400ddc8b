import type { PortalRevenueQuery } from '../../generated/graphql';
import { useMemo } from 'react';
import { useQuery } from '../../client';
import { ErrorState, Loading, Panel, TableHead, TableWrap } from '../../components/ui';
import { formatInt, formatMoney } from '../../format';

const REVENUE = /* GraphQL */ `
  query PortalRevenue($from: String!, $to: String!) {
    productRevenue(from: $from, to: $to) {
      products { month product domain requests units meteredUnits revenueCents invoicedCents }
      domains { month domain requests units meteredUnits revenueCents invoicedCents }
    }
  }
`;

/** How many months the view shows, this one included. */
const MONTHS = 3;

/** YYYY-MM of the UTC month `back` months before this one. */
function monthOf(back: number, now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 7);
}

type Figures = PortalRevenueQuery['productRevenue']['domains'][number];

function FigureCells({ row }: { row: Figures }) {
  return (
    <>
      <td className="num">{formatInt(row.requests)}</td>
      <td className="num">{formatInt(row.units)}</td>
      <td className="num">{formatInt(row.meteredUnits)}</td>
      <td className="num">{formatMoney(row.revenueCents)}</td>
      <td className="num">{formatMoney(row.invoicedCents)}</td>
    </>
  );
}

const FIGURES = ['Requests', 'Units', 'Add-on units', 'At unit price', 'Invoiced'];

/**
 * What each data product earns, month by month: an admin sees every product, a publisher the
 * products of its domains (the gateway decides). Usage from the ledger; revenue at the product's
 * unit price and what paid Stripe invoices charged for it.
 */
export function Revenue() {
  const range = useMemo(() => ({ from: monthOf(MONTHS - 1), to: monthOf(0) }), []);
  const revenue = useQuery<PortalRevenueQuery>(REVENUE, range);
  const report = revenue.data?.productRevenue;
  return (
    <Panel title={`Revenue, ${range.from} to ${range.to}`}>
      <p className="muted small">
        Requests and cost units that read each product; the units read through its add-on at the product’s unit price; and what paid Stripe invoices charged on
        its prices (add-on fees included). Plan-included usage is paid by the plans.
      </p>
      {revenue.error && <ErrorState error={revenue.error} onRetry={revenue.reload} compact />}
      {!report && !revenue.error && <Loading what="Loading revenue" />}
      {report && report.products.length === 0 && <p className="muted">No usage or invoices for your products in these months yet.</p>}
      {report && report.products.length > 0 && (
        <>
          <TableWrap label="Revenue per data product">
            <table className="table" data-testid="revenue-table">
              <TableHead columns={['Month', 'Product', 'Domain', ...FIGURES]} />
              <tbody>
                {report.products.map((row) => (
                  <tr key={`${row.month}|${row.product}`}>
                    <td>{row.month}</td>
                    <th scope="row">
                      <code>{row.product}</code>
                    </th>
                    <td>{row.domain}</td>
                    <FigureCells row={row} />
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <TableWrap label="Revenue per domain">
            <table className="table" data-testid="domain-revenue-table">
              <TableHead columns={['Month', 'Domain', ...FIGURES]} />
              <tbody>
                {report.domains.map((row) => (
                  <tr key={`${row.month}|${row.domain}`}>
                    <td>{row.month}</td>
                    <th scope="row">{row.domain}</th>
                    <FigureCells row={row} />
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      )}
    </Panel>
  );
}
