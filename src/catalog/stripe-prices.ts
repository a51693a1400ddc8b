import { recordAudit, type Actor } from '../audit/audit';
import type { DataProduct, Prisma, PrismaClient } from '../generated/prisma/client';

/**
 * The data products' Stripe side, read and written by billing. Uncached (as plans/stripe-prices.ts):
 * `stripe setup` may run in another process, and a checkout right after it must see its prices.
 */
type Db = PrismaClient | Prisma.TransactionClient;

export type ProductStripeTerms = Pick<
  DataProduct,
  | 'slug'
  | 'name'
  | 'domain'
  | 'lifecycle'
  | 'addOnMonthlyPriceCents'
  | 'unitAmountDecimal'
  | 'stripeProductId'
  | 'stripeAddOnPriceId'
  | 'stripeMeteredPriceId'
  | 'stripeMeterId'
  | 'meterEventName'
>;

const TERMS = {
  slug: true,
  name: true,
  domain: true,
  lifecycle: true,
  addOnMonthlyPriceCents: true,
  unitAmountDecimal: true,
  stripeProductId: true,
  stripeAddOnPriceId: true,
  stripeMeteredPriceId: true,
  stripeMeterId: true,
  meterEventName: true,
} satisfies Prisma.DataProductSelect;

export function productStripeTerms(db: Db, slug: string): Promise<ProductStripeTerms | null> {
  return db.dataProduct.findUnique({ where: { slug }, select: TERMS });
}

/** Every product with a price of its own (add-on or metered), by slug. */
export function pricedProducts(db: Db): Promise<ProductStripeTerms[]> {
  return db.dataProduct.findMany({
    where: { OR: [{ addOnMonthlyPriceCents: { not: null } }, { unitAmountDecimal: { not: null } }] },
    select: TERMS,
    orderBy: { slug: 'asc' },
  });
}

/** Every product, by slug (prices included): what revenue attribution reads. */
export function allProductTerms(db: Db): Promise<ProductStripeTerms[]> {
  return db.dataProduct.findMany({ select: TERMS, orderBy: { slug: 'asc' } });
}

export interface ProductStripeIds {
  stripeProductId: string;
  stripeAddOnPriceId: string | null;
  stripeMeteredPriceId: string | null;
  stripeMeterId: string | null;
  meterEventName: string | null;
}

/** Stores a product's Stripe product, prices and meter, with an audit entry (`stripe.setup`). */
export async function setProductStripeIds(tx: Prisma.TransactionClient, slug: string, ids: ProductStripeIds, actor: Actor): Promise<void> {
  const before = await tx.dataProduct.findUniqueOrThrow({ where: { slug }, select: TERMS });
  const after = await tx.dataProduct.update({ where: { slug }, data: ids, select: TERMS });
  await recordAudit(tx, actor, { action: 'stripe.setup', targetType: 'DataProduct', targetId: slug, before, after });
}
