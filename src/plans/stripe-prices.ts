import { recordAudit, type Actor } from '../audit/audit';
import type { Plan, PlanCode, Prisma, PrismaClient } from '../generated/prisma/client';

/**
 * The plans' Stripe side, read and written by billing. Uncached, unlike PlanCatalog: `stripe
 * setup` may run in another process, and a checkout or webhook right after it must see its prices.
 */
type Db = PrismaClient | Prisma.TransactionClient;

export function planRow(db: Db, code: PlanCode): Promise<Plan> {
  return db.plan.findUniqueOrThrow({ where: { code } });
}

/** The plans one of whose Stripe prices is among `priceIds`. */
export function plansWithPrices(db: Db, priceIds: string[]): Promise<Array<Pick<Plan, 'code' | 'stripeFlatPriceId' | 'stripeMeteredPriceId'>>> {
  return db.plan.findMany({
    where: { OR: [{ stripeFlatPriceId: { in: priceIds } }, { stripeMeteredPriceId: { in: priceIds } }] },
    select: { code: true, stripeFlatPriceId: true, stripeMeteredPriceId: true },
  });
}

export interface StripePrices {
  productId: string;
  flatPriceId: string | null;
  meteredPriceId: string;
  /** Used only when the plan has no overage price of its own yet. */
  defaultOverage: string;
}

/** Stores the plan's Stripe product and prices, with an audit entry (`stripe.setup`). */
export async function setStripePrices(tx: Prisma.TransactionClient, code: PlanCode, prices: StripePrices, actor: Actor): Promise<void> {
  const before = await tx.plan.findUniqueOrThrow({ where: { code } });
  const after = await tx.plan.update({
    where: { code },
    data: {
      stripeProductId: prices.productId,
      stripeFlatPriceId: prices.flatPriceId,
      stripeMeteredPriceId: prices.meteredPriceId,
      overageUnitAmountDecimal: before.overageUnitAmountDecimal ?? prices.defaultOverage,
    },
  });
  await recordAudit(tx, actor, { action: 'stripe.setup', targetType: 'Plan', targetId: code, before, after });
}
