import type Stripe from 'stripe';
import type { AccountService } from '../accounts/service';
import type { Actor } from '../audit/audit';
import { badInput } from '../errors';
import type { Account, MeterReport, PlanCode, PrismaClient, Subscription } from '../generated/prisma/client';
import type { MeterReportStatus } from '../generated/prisma/enums';
import { createAddOnCheckoutSession, createBillingPortalSession, createCheckoutSession, type CheckoutDeps } from './checkout';
import { reconcile, type AccountReconciliation } from './reconcile';
import { plansMeter } from './setup';
import { entitledPlan, graceEndsAt, PLAN_ORDER } from './subscriptions';

export interface BillingOptions {
  /** Where Checkout and the billing portal send the subscriber back to. */
  publicUrl: string;
  /** BILLING_PAST_DUE_GRACE_DAYS in milliseconds. */
  graceMs: number;
}

/** Billing as the API offers it: checkout, the billing portal, subscriptions, and the admins' views of reporting to Stripe. */
export class BillingService {
  private readonly checkout: CheckoutDeps;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe | undefined,
    accounts: AccountService,
    private readonly options: BillingOptions,
  ) {
    this.checkout = { stripe, prisma, accounts, publicUrl: options.publicUrl };
  }

  checkoutSession(account: Account, planCode: PlanCode, actor: Actor): Promise<string> {
    return createCheckoutSession(this.checkout, account, planCode, actor);
  }

  addOnCheckoutSession(account: Account, product: string, actor: Actor): Promise<string> {
    return createAddOnCheckoutSession(this.checkout, account, product, actor);
  }

  billingPortalSession(account: Account): Promise<string> {
    return createBillingPortalSession(this.checkout, account);
  }

  /** The subscription the account's plan comes from now (the newest among equals; an ended one only if nothing else), if any. */
  async subscriptionOf(accountId: string, now = new Date()): Promise<(Subscription & { graceEndsAt: Date | null }) | null> {
    const rows = await this.prisma.subscription.findMany({ where: { accountId }, orderBy: { createdAt: 'desc' } });
    if (rows.length === 0) return null;
    const { graceMs } = this.options;
    const best = rows.reduce((a, b) => (PLAN_ORDER[entitledPlan(b, now, graceMs)] > PLAN_ORDER[entitledPlan(a, now, graceMs)] ? b : a));
    return { ...best, graceEndsAt: graceEndsAt(best, graceMs) };
  }

  /** Per account over [from, to); refused (BAD_USER_INPUT) unless from is before to, whoever asks (GraphQL or the CLI). */
  async reconcile(from: Date, to: Date): Promise<AccountReconciliation[]> {
    if (!(from < to)) throw badInput('from must be before to', { fields: ['from', 'to'] });
    return reconcile(this.prisma, this.stripe, await plansMeter(this.prisma), from, to);
  }

  /** Newest first, at most 500. */
  meterReports(statuses: MeterReportStatus[]): Promise<MeterReport[]> {
    return this.prisma.meterReport.findMany({ where: { status: { in: statuses } }, orderBy: { windowStart: 'desc' }, take: 500 });
  }
}
