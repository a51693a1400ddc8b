import type { PortalCatalogQuery, ProductFieldsFragment } from '../generated/graphql';
import { useQuery } from '../client';
import { ErrorState, Loading, Panel, StatusBadge } from '../components/ui';
import { formatDateTime, formatDecimal, formatInt, formatPercent, formatRelative } from '../format';

export type DataProduct = ProductFieldsFragment;

/** What the catalog and the admin's product list show of a data product (appended to their queries). */
export const PRODUCT_FIELDS = /* GraphQL */ `
  fragment ProductFields on DataProduct {
    id slug name description domain owner version status deprecated publishedAt
    slo { availability freshnessSeconds latencyP99Ms }
    quality { completeness dlqRate eventsPerSecond freshnessLagP99Ms measuredAt }
    accessPolicy { plans fields { plan fields } }
    schema { graphqlType eventJsonSchema }
  }
`;

const CATALOG_QUERY = /* GraphQL */ `
  query PortalCatalog {
    dataProducts { ...ProductFields }
  }
`;
const CATALOG = CATALOG_QUERY + PRODUCT_FIELDS;

export function lifecycleTone(status: DataProduct['status']): 'ok' | 'warn' | 'neutral' {
  return status === 'PUBLISHED' ? 'ok' : status === 'DEPRECATED' ? 'warn' : 'neutral';
}

/** Freshness against the SLO: within it, within twice it, or beyond. */
function freshnessTone(product: DataProduct): 'ok' | 'warn' | 'bad' | 'neutral' {
  const lag = product.quality.freshnessLagP99Ms;
  if (lag === null) return 'neutral';
  const budget = product.slo.freshnessSeconds * 1000;
  return lag <= budget ? 'ok' : lag <= 2 * budget ? 'warn' : 'bad';
}

export function Catalog() {
  // The catalogue and its quality figures are free; refresh them as the pipeline reports.
  const catalog = useQuery<PortalCatalogQuery>(CATALOG, {}, { pollMs: 10_000 });
  if (!catalog.data) return catalog.error ? <ErrorState error={catalog.error} onRetry={catalog.reload} /> : <Loading what="Loading the catalog" />;
  if (catalog.data.dataProducts.length === 0) return <p className="muted">No data products are published yet.</p>;
  return (
    <div className="grid">
      {catalog.error && <ErrorState error={catalog.error} compact />}
      {catalog.data.dataProducts.map((product) => (
        <ProductCard key={product.id} product={product} />
      ))}
    </div>
  );
}

export function ProductCard({ product }: { product: DataProduct }) {
  const { slo, quality } = product;
  const fresh = freshnessTone(product);
  return (
    <Panel
      title={
        <>
          {product.name} <span className="muted small">v{product.version}</span>
        </>
      }
      actions={<StatusBadge tone={lifecycleTone(product.status)}>{product.status.toLowerCase()}</StatusBadge>}
      className="product"
    >
      <p>{product.description}</p>
      <p className="muted small">
        <code>{product.slug}</code> · domain {product.domain} · owner {product.owner} · type <code>{product.schema.graphqlType}</code>
      </p>
      <div className="two-col">
        <div>
          <h3>Service level objective</h3>
          <dl className="facts">
            <div>
              <dt>Availability</dt>
              <dd>{formatDecimal(slo.availability)} %</dd>
            </div>
            <div>
              <dt>Freshness</dt>
              <dd>≤ {formatDecimal(slo.freshnessSeconds)} s</dd>
            </div>
            <div>
              <dt>Read latency p99</dt>
              <dd>≤ {formatInt(slo.latencyP99Ms)} ms</dd>
            </div>
          </dl>
        </div>
        <div>
          <h3>Quality now</h3>
          {quality.measuredAt ? (
            <dl className="facts" data-testid={`quality-${product.slug}`}>
              <div>
                <dt>Freshness lag p99</dt>
                <dd>
                  <StatusBadge tone={fresh}>{quality.freshnessLagP99Ms === null ? '—' : `${formatInt(quality.freshnessLagP99Ms)} ms`}</StatusBadge>
                </dd>
              </div>
              <div>
                <dt>Completeness</dt>
                <dd>{formatPercent(quality.completeness)}</dd>
              </div>
              <div>
                <dt>Dead-lettered</dt>
                <dd>{formatPercent(quality.dlqRate, 2)}</dd>
              </div>
              <div>
                <dt>Throughput</dt>
                <dd>{formatDecimal(quality.eventsPerSecond)} events/s</dd>
              </div>
              <div>
                <dt>Measured</dt>
                <dd>
                  <time dateTime={quality.measuredAt} title={formatDateTime(quality.measuredAt)}>
                    {formatRelative(new Date(quality.measuredAt))}
                  </time>
                </dd>
              </div>
            </dl>
          ) : (
            <p className="muted">Not measured yet.</p>
          )}
        </div>
      </div>
      <p className="small">
        Plans: {product.accessPolicy.plans.join(', ')}
        {product.deprecated && <strong> · deprecated: plan to move off it</strong>}
      </p>
    </Panel>
  );
}
