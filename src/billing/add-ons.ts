import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { SubscriptionStatus } from '../generated/prisma/enums';
import { recordAudit, type Actor } from '../audit/audit';

type Db = PrismaClient | Prisma.TransactionClient;

/** Statuses in which an add-on grants its product: paid, trialing, or a renewal being retried. */
const ENTITLING: SubscriptionStatus[] = ['active', 'trialing', 'past_due'];

/** The data products (slugs) an account holds as add-ons now. */
export async function activeAddOns(db: Db, accountId: string): Promise<string[]> {
  const rows = await db.productAddOn.findMany({ where: { accountId, status: { in: ENTITLING } }, select: { product: true }, distinct: ['product'] });
  return rows.map((row) => row.product).sort();
}

/** Stores what an add-on subscription's events fold to, in the Stripe event's transaction; a change is audited. */
export async function saveAddOnIn(
  tx: Prisma.TransactionClient,
  addOn: { stripeSubscriptionId: string; accountId: string; product: string; status: SubscriptionStatus; lastEventId: string },
  actor: Actor,
): Promise<void> {
  const { stripeSubscriptionId, ...data } = addOn;
  const before = await tx.productAddOn.findUnique({ where: { stripeSubscriptionId } });
  if (before?.status === addOn.status && before.accountId === addOn.accountId) return;
  const after = await tx.productAddOn.upsert({ where: { stripeSubscriptionId }, create: addOn, update: data });
  await recordAudit(tx, actor, { action: 'account.productAddOn', targetType: 'Account', targetId: addOn.accountId, before: before ?? undefined, after });
}
