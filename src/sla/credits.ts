import { findAccount } from '../accounts/service';
import type { Stripe } from '../billing/stripe-client';
import { badInput } from '../errors';
import type { PrismaClient, SlaCredit } from '../generated/prisma/client';
import type { Logger } from '../ops/logger';
import type { PlanCatalog } from '../plans/service';
import { monthRange, type SlaService } from './service';

export interface SlaCreditDeps {
  prisma: PrismaClient;
  plans: PlanCatalog;
  sla: SlaService;
  logger: Logger;
  /** Undefined while billing is off: credits are recorded, and sent once Stripe is configured. */
  stripe?: Stripe;
}

export type { SlaCredit };

/** The UTC month before the one `now` is in, as YYYY-MM. */
export function previousMonth(now = new Date()): string {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return first.toISOString().slice(0, 7);
}

/**
 * The service credits a finished month earns: for every account with traffic that month whose
 * plan promises an availability the month fell short of, the plan's share of its monthly price,
 * once (one row per account and month, however often this runs), sent to Stripe as a credit
 * to the customer's balance (negative balance transaction, idempotency key per account and month,
 * so a run that died between Stripe and the row sends nothing twice). Returns the month's credits.
 */
export async function issueSlaCredits(deps: SlaCreditDeps, month: string): Promise<SlaCredit[]> {
  const { prisma, plans, sla, logger, stripe } = deps;
  const { from, to } = monthRange(month);
  if (Date.now() < to.getTime()) throw badInput(`${month} is not over yet: credits are for finished months`, { fields: ['month'] });
  const active = await prisma.slaHour.groupBy({ by: ['accountId'], where: { hour: { gte: from, lt: to } } });
  const credits: SlaCredit[] = [];
  for (const { accountId } of active) {
    const account = await findAccount(prisma, accountId);
    if (!account) continue;
    const plan = await plans.get(account.planCode);
    if (plan.slaAvailability === null) continue;
    const { availability } = await sla.report(accountId, month);
    if (availability === null || availability >= plan.slaAvailability) continue;
    const amountCents = Math.round((plan.monthlyPriceCents * plan.slaCreditPercent) / 100);
    if (amountCents <= 0) {
      logger.warn(
        { accountId, month, availability, plan: plan.code },
        'SLA breached, but the plan has no price to credit from (a contract price): settle it by hand',
      );
      continue;
    }
    await prisma.slaCredit.createMany({
      data: [{ accountId, month, availability, promised: plan.slaAvailability, amountCents, currency: plan.currency }],
      skipDuplicates: true,
    });
    let credit = await prisma.slaCredit.findUniqueOrThrow({ where: { accountId_month: { accountId, month } } });
    if (!credit.stripeBalanceTransactionId && stripe && account.stripeCustomerId) {
      const transaction = await stripe.customers.createBalanceTransaction(
        account.stripeCustomerId,
        {
          amount: -credit.amountCents,
          currency: credit.currency,
          description: `Service credit: ${month} availability ${(credit.availability * 100).toFixed(3)} % (promised ${(credit.promised * 100).toFixed(2)} %)`,
          metadata: { tollgraph_account_id: accountId, month },
        },
        { idempotencyKey: `tollgraph-sla-credit:${accountId}:${month}` },
      );
      credit = await prisma.slaCredit.update({ where: { accountId_month: { accountId, month } }, data: { stripeBalanceTransactionId: transaction.id } });
    }
    credits.push(credit);
  }
  return credits;
}
