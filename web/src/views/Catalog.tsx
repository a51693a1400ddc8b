import { useId, useState } from 'react';
import type {
  PortalAddOnCheckoutMutation,
  PortalCatalogQuery,
  PortalCatalogQueryVariables,
  PortalDomainsQuery,
  ProductFieldsFragment,
} from '../generated/graphql';
import { useMutation, useQuery } from '../client';
import { ErrorState, Loading, Panel, StatusBadge } from '../components/ui';
import { formatDateTime, formatDecimal, formatInt, formatMoney, formatPercent, formatRelative } from '../format';

export type DataProduct = ProductFieldsFragment;

/** What the catalog and the admin's product list show of a data product (appended to their queries). */
export const PRODUCT_FIELDS = /* GraphQL */ `
  fragment ProductFields on DataProduct {
    id slug name description domain owner version status deprecated publishedAt
    slo { availability freshnessSeconds latencyP99Ms }
    quality { completeness dlqRate eventsPerSecond freshnessLagP99Ms measuredAt }
    accessPolicy { plans fields { plan fields } }
    schema { graphqlType eventJsonSchema }
    pricing { addOnMonthlyPriceCents unitAmountDecimal }
    viewerAccess { includedInPlan addOn readable }
  }
`;

const CATALOG_QUERY = /* GraphQL */ `
  query PortalCatalog($domain: String, $includedInPlan: Boolean, $maxFreshnessSeconds: Float, $maxAddOnPriceCents: Int) {
    dataProducts(domain: $domain, includedInPlan: $includedInPlan, maxFreshnessSeconds: $maxFreshnessSeconds, maxAddOnPriceCents: $maxAddOnPriceCents) {
      ...ProductFields
    }
  }
`;
const CATALOG = CATALOG_QUERY + PRODUCT_FIELDS;

const DOMAINS = /* GraphQL */ `
  query PortalDomains {
    dataProducts { domain }
  }
`;

const ADD_ON_CHECKOUT = /* GraphQL */ `
  mutation PortalAddOnCheckout($product: String!) {
    createAddOnCheckoutSession(product: $product) { url }
  }
`;

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

type Filters = { [K in keyof PortalCatalogQueryVariables]: NonNullable<PortalCatalogQueryVariables[K]> | null };
const NO_FILTERS: Filters = { domain: null, includedInPlan: null, maxFreshnessSeconds: null, maxAddOnPriceCents: null };

/** The marketplace: every product the caller may discover, filtered by domain, plan, freshness and price. */
export function Catalog() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // The catalogue and its quality figures are free; refresh them as the pipeline reports.
  const catalog = useQuery<PortalCatalogQuery>(CATALOG, filters, { pollMs: 10_000 });
  const domains = useQuery<PortalDomainsQuery>(DOMAINS);
  const filtered = Object.values(filters).some((value) => value !== null);
  return (
    <>
      <MarketplaceFilters filters={filters} domains={[...new Set(domains.data?.dataProducts.map((product) => product.domain))]} onChange={setFilters} />
      {!catalog.data ? (
        catalog.error ? (
          <ErrorState error={catalog.error} onRetry={catalog.reload} />
        ) : (
          <Loading what="Loading the catalog" />
        )
      ) : catalog.data.dataProducts.length === 0 ? (
        <p className="muted">{filtered ? 'No data product matches these filters.' : 'No data products are published yet.'}</p>
      ) : (
        <div className="grid">
          {catalog.error && <ErrorState error={catalog.error} compact />}
          {catalog.data.dataProducts.map((product) => (
            <ProductCard key={product.id} product={product} />
          ))}
        </div>
      )}
    </>
  );
}

const numberOrNull = (value: string) => (value.trim() === '' || Number.isNaN(Number(value)) ? null : Number(value));

function MarketplaceFilters({ filters, domains, onChange }: { filters: Filters; domains: string[]; onChange(filters: Filters): void }) {
  const id = useId();
  const set = (change: Partial<Filters>) => onChange({ ...filters, ...change });
  return (
    <form className="filters" aria-label="Filter data products" onSubmit={(event) => event.preventDefault()}>
      <label htmlFor={`${id}-domain`}>Domain</label>
      <select id={`${id}-domain`} value={filters.domain ?? ''} onChange={(event) => set({ domain: event.target.value || null })}>
        <option value="">All</option>
        {domains.sort().map((domain) => (
          <option key={domain}>{domain}</option>
        ))}
      </select>
      <label htmlFor={`${id}-plan`}>My plan</label>
      <select
        id={`${id}-plan`}
        value={filters.includedInPlan === null ? '' : String(filters.includedInPlan)}
        onChange={(event) => set({ includedInPlan: event.target.value === '' ? null : event.target.value === 'true' })}
      >
        <option value="">Any</option>
        <option value="true">Included</option>
        <option value="false">Not included</option>
      </select>
      <label htmlFor={`${id}-fresh`}>Fresher than (s)</label>
      <input
        id={`${id}-fresh`}
        type="number"
        min="0"
        value={filters.maxFreshnessSeconds ?? ''}
        onChange={(event) => set({ maxFreshnessSeconds: numberOrNull(event.target.value) })}
      />
      <label htmlFor={`${id}-price`}>Add-on up to ($/month)</label>
      <input
        id={`${id}-price`}
        type="number"
        min="0"
        value={filters.maxAddOnPriceCents === null ? '' : filters.maxAddOnPriceCents / 100}
        onChange={(event) => {
          const dollars = numberOrNull(event.target.value);
          set({ maxAddOnPriceCents: dollars === null ? null : Math.round(dollars * 100) });
        }}
      />
    </form>
  );
}

/** How the caller reads a product, and the add-on to buy when its plan does not include it. */
function ProductAccessLine({ product }: { product: DataProduct }) {
  const checkout = useMutation<PortalAddOnCheckoutMutation, { product: string }>(ADD_ON_CHECKOUT);
  const { viewerAccess, pricing } = product;
  const price = pricing.addOnMonthlyPriceCents;
  const buy = async () => {
    const result = await checkout.run({ product: product.slug });
    if (result) window.location.assign(result.createAddOnCheckoutSession.url);
  };
  return (
    <p className="small" data-testid={`access-${product.slug}`}>
      {viewerAccess.includedInPlan ? (
        <StatusBadge tone="ok">in your plan</StatusBadge>
      ) : viewerAccess.addOn ? (
        <StatusBadge tone="ok">your add-on</StatusBadge>
      ) : (
        <StatusBadge tone="neutral">not in your plan</StatusBadge>
      )}
      {price !== null && <> · add-on {formatMoney(price)} / month</>}
      {pricing.unitAmountDecimal !== null && <> + {pricing.unitAmountDecimal}¢ per unit</>}
      {!viewerAccess.readable && price !== null && (
        <>
          {' '}
          <button type="button" className="button" disabled={checkout.busy} onClick={() => void buy()}>
            Buy add-on
          </button>
        </>
      )}
      {checkout.error && <ErrorState error={checkout.error} compact />}
    </p>
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
      <ProductAccessLine product={product} />
    </Panel>
  );
}
