import type { PrismaClient } from '../generated/prisma/client';
import { DEFAULT_METER } from '../metering/ledger';
import { productUsage } from '../metering/product-usage';
import { badInput } from '../errors';
import { monthRange } from '../sla/service';
import { allProductTerms } from '../catalog/stripe-prices';
import { invoicedByStripeProduct } from './invoice-lines';
import { PRODUCT_CURRENCY } from './product-setup';

export interface ProductRevenueRow {
  month: string;
  product: string;
  domain: string;
  requests: number;
  units: number;
  /** Units read through the product's add-on, billed on its own meter at its unit price. */
  meteredUnits: number;
  /** meteredUnits at the product's unit price, in cents. */
  revenueCents: number;
  /** What paid Stripe invoices charged for the product (add-on fees and metered units) for the month, in cents. */
  invoicedCents: number;
}

export type DomainRevenueRow = Omit<ProductRevenueRow, 'product'>;

/** Cents to six decimals: unit prices are fractions of a cent, sums of them must not drift. */
const round = (cents: number) => Math.round(cents * 1e6) / 1e6;

type Figures = Pick<ProductRevenueRow, 'requests' | 'units' | 'meteredUnits' | 'revenueCents' | 'invoicedCents'>;

const noFigures = (): Figures => ({ requests: 0, units: 0, meteredUnits: 0, revenueCents: 0, invoicedCents: 0 });

function add(into: Figures, from: Figures): void {
  into.requests += from.requests;
  into.units += from.units;
  into.meteredUnits += from.meteredUnits;
  into.revenueCents = round(into.revenueCents + from.revenueCents);
  into.invoicedCents += from.invoicedCents;
}

/**
 * Usage and revenue per data product, owning domain and UTC month, from the usage ledger, the
 * products' prices and Stripe's invoices: every charged field's units count for its product; the
 * units read through an add-on (on the product's own meter) earn its unit price (`revenueCents`,
 * at the product's current price: what the month is worth as it is used); and what paid invoices
 * charged on the product's prices, add-on fees included, is `invoicedCents` (what Stripe actually
 * collected, known once the month's invoices are paid). Plan-included usage is paid for by the
 * plans, so it is attributed to no product's revenue.
 */
export class ProductRevenue {
  constructor(private readonly prisma: PrismaClient) {}

  /** Months `fromMonth` to `toMonth` (YYYY-MM, both included), the products of the domains `visible` accepts. */
  report(fromMonth: string, toMonth: string, visible: (domain: string) => boolean): Promise<{ products: ProductRevenueRow[]; domains: DomainRevenueRow[] }> {
    const from = monthRange(fromMonth).from;
    const to = monthRange(toMonth).to;
    if (from >= to) throw badInput('from must not be after to', { fields: ['from', 'to'] });
    if (to.getTime() - from.getTime() > MAX_MONTHS * 31 * 86_400_000) throw badInput(`at most ${MAX_MONTHS} months at a time`, { fields: ['from', 'to'] });
    return productRevenue(this.prisma, from, to, visible);
  }
}

const MAX_MONTHS = 24;

async function productRevenue(
  prisma: PrismaClient,
  from: Date,
  to: Date,
  visible: (domain: string) => boolean,
): Promise<{ products: ProductRevenueRow[]; domains: DomainRevenueRow[] }> {
  const terms = new Map((await allProductTerms(prisma)).filter((product) => visible(product.domain)).map((product) => [product.slug, product]));
  const products = new Map<string, ProductRevenueRow>();
  const entryOf = (month: string, product: string) => {
    const key = `${month}|${product}`;
    let entry = products.get(key);
    if (!entry) products.set(key, (entry = { month, product, domain: terms.get(product)!.domain, ...noFigures() }));
    return entry;
  };
  for (const row of await productUsage(prisma, from, to, [...terms.keys()])) {
    const term = terms.get(row.product)!;
    const metered = row.meter !== DEFAULT_METER && row.meter === term.meterEventName ? row.units : 0;
    add(entryOf(row.month, row.product), {
      ...noFigures(),
      requests: row.requests,
      units: row.units,
      meteredUnits: metered,
      revenueCents: metered * Number(term.unitAmountDecimal ?? 0),
    });
  }
  const slugOfStripeProduct = new Map([...terms.values()].flatMap((term) => (term.stripeProductId ? [[term.stripeProductId, term.slug]] : [])));
  for (const row of await invoicedByStripeProduct(prisma, from, to, PRODUCT_CURRENCY)) {
    const product = slugOfStripeProduct.get(row.stripeProductId);
    if (product) add(entryOf(row.month, product), { ...noFigures(), invoicedCents: row.amount });
  }
  const sorted = [...products.values()].sort((a, b) => a.month.localeCompare(b.month) || a.product.localeCompare(b.product));
  const domains = new Map<string, DomainRevenueRow>();
  for (const row of sorted) {
    const key = `${row.month}|${row.domain}`;
    const entry = domains.get(key) ?? { month: row.month, domain: row.domain, ...noFigures() };
    domains.set(key, entry);
    add(entry, row);
  }
  return { products: sorted, domains: [...domains.values()] };
}
