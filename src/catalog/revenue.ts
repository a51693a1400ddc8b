import type { PrismaClient } from '../generated/prisma/client';
import { DEFAULT_METER } from '../metering/ledger';
import { productUsage } from '../metering/product-usage';
import { badInput } from '../errors';
import { monthRange } from '../sla/service';
import { allProductTerms } from './stripe-prices';

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
}

export type DomainRevenueRow = Omit<ProductRevenueRow, 'product'>;

/** Cents to six decimals: unit prices are fractions of a cent, sums of them must not drift. */
const round = (cents: number) => Math.round(cents * 1e6) / 1e6;

function add<T extends Pick<ProductRevenueRow, 'requests' | 'units' | 'meteredUnits' | 'revenueCents'>>(into: T, from: ProductRevenueRow): void {
  into.requests += from.requests;
  into.units += from.units;
  into.meteredUnits += from.meteredUnits;
  into.revenueCents = round(into.revenueCents + from.revenueCents);
}

/**
 * Usage and revenue per data product, owning domain and UTC month, from the usage ledger and the
 * products' prices: every charged field's units count for its product; the units read through an
 * add-on (on the product's own meter) earn its unit price. Plan-included usage is paid for by the
 * plans, and add-on fees by their subscriptions, so neither is attributed here. Prices are the
 * products' current ones.
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
  for (const row of await productUsage(prisma, from, to, [...terms.keys()])) {
    const term = terms.get(row.product)!;
    const key = `${row.month}|${row.product}`;
    const entry = products.get(key) ?? { month: row.month, product: row.product, domain: term.domain, requests: 0, units: 0, meteredUnits: 0, revenueCents: 0 };
    products.set(key, entry);
    const metered = row.meter !== DEFAULT_METER && row.meter === term.meterEventName ? row.units : 0;
    add(entry, { ...entry, requests: row.requests, units: row.units, meteredUnits: metered, revenueCents: metered * Number(term.unitAmountDecimal ?? 0) });
  }
  const domains = new Map<string, DomainRevenueRow>();
  for (const row of products.values()) {
    const key = `${row.month}|${row.domain}`;
    const entry = domains.get(key) ?? { month: row.month, domain: row.domain, requests: 0, units: 0, meteredUnits: 0, revenueCents: 0 };
    domains.set(key, entry);
    add(entry, row);
  }
  return { products: [...products.values()], domains: [...domains.values()] };
}
