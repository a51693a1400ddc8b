import { findAccount, findAccountByStripeCustomer, lockAccount } from '../../accounts/service';
import type { PlanCode, Prisma, Subscription } from '../../generated/prisma/client';
import { plansWithPrices } from '../../plans/stripe-prices';
import { saveAddOnIn } from '../add-ons';
import { accountPlan, foldSubscription, PLAN_ORDER, type FoldableEvent, type FoldedSubscription } from '../subscriptions';
import { STRIPE_ACTOR, WebhookError, type ApplyContext, type StoredEvent } from './handler';
import { handlerFor } from './handlers';
import { lockStripeObject } from './locks';
import { isObject, isUuid } from './stripe-objects';

const PLAN_CODES = Object.keys(PLAN_ORDER) as PlanCode[];
const isPlanCode = (value: unknown): value is PlanCode => typeof value === 'string' && (PLAN_CODES as string[]).includes(value);

/** The stored row of an event, read back as the handlers see it. */
export function storedEventOf(row: { id: string; type: string; stripeCreatedAt: Date; livemode: boolean; payload: Prisma.JsonValue }): StoredEvent {
  const payload = isObject(row.payload) ? row.payload : {};
  const data = isObject(payload.data) ? payload.data : {};
  return { id: row.id, type: row.type, created: row.stripeCreatedAt, livemode: row.livemode, object: isObject(data.object) ? data.object : {} };
}

/** A transaction-scoped lock on one Stripe subscription: its events are folded one transaction at a time. */
export async function lockSubscription(tx: Prisma.TransactionClient, stripeSubscriptionId: string): Promise<void> {
  await lockStripeObject(tx, `stripe-subscription:${stripeSubscriptionId}`);
}

/**
 * Re-derives one subscription from all of its stored events (the current one included) and
 * writes the result, then the plan of the account(s) it belongs to. Runs in the event's
 * transaction, under the subscription's lock (taken before anything else is locked).
 */
export async function syncSubscription(context: ApplyContext, stripeSubscriptionId: string): Promise<void> {
  const { tx, event, log } = context;
  const rows = await tx.stripeEvent.findMany({
    where: { stripeSubscriptionId },
    select: { id: true, type: true, stripeCreatedAt: true, livemode: true, payload: true, status: true },
  });
  const events: FoldableEvent[] = [];
  for (const row of rows) {
    const handler = handlerFor(row.type);
    if (!handler?.signal) continue;
    try {
      events.push({ id: row.id, type: row.type, created: row.stripeCreatedAt, rank: handler.rank, signal: handler.signal(storedEventOf(row)) });
    } catch (error) {
      // The current event must be understood; an older one that cannot be (it failed then) is left out.
      if (row.id === event.id) throw error;
      log.warn({ err: error, eventId: row.id, subscription: stripeSubscriptionId }, 'a stored Stripe event cannot be read; folding without it');
    }
  }
  const folded = foldSubscription(events);
  if (!folded.status || !folded.lastEvent) return; // nothing said about its status yet (e.g. a Checkout Session awaiting payment)
  if (folded.afterEnd.includes(event.id))
    log.info({ eventId: event.id, subscription: stripeSubscriptionId }, 'Stripe event dated after the subscription ended: no effect');

  const product = folded.hints.find((hint) => hint.product)?.product;
  if (product) {
    // A product's add-on: it grants the product, never a plan, so the account's plan is left alone.
    const accountId = await resolveAccount(tx, folded, null, stripeSubscriptionId);
    await saveAddOnIn(
      tx,
      { stripeSubscriptionId, accountId, product, status: folded.status, lastEventId: folded.lastEvent.id },
      { ...STRIPE_ACTOR, requestId: event.id },
    );
    context.touchedAccounts.add(accountId);
    return;
  }

  const existing = await tx.subscription.findUnique({ where: { stripeSubscriptionId } });
  const accountId = await resolveAccount(tx, folded, existing, stripeSubscriptionId);
  const { planCode, priceId } = await resolvePlan(tx, folded, existing, stripeSubscriptionId);
  const fields = folded.subscription ?? {
    currentPeriodStart: existing?.currentPeriodStart ?? null,
    currentPeriodEnd: existing?.currentPeriodEnd ?? null,
    cancelAtPeriodEnd: existing?.cancelAtPeriodEnd ?? false,
    canceledAt: existing?.canceledAt ?? null,
    endedAt: existing?.endedAt ?? null,
    trialEnd: existing?.trialEnd ?? null,
  };
  const data = {
    accountId,
    planCode,
    status: folded.status,
    stripeCustomerId: folded.hints.find((hint) => hint.customerId)?.customerId ?? existing?.stripeCustomerId ?? null,
    stripePriceId: priceId,
    ...fields,
    pastDueSince: folded.pastDueSince,
    stripeUpdatedAt: folded.lastEvent.created,
    lastEventId: folded.lastEvent.id,
  };
  await tx.subscription.upsert({ where: { stripeSubscriptionId }, create: { stripeSubscriptionId, ...data }, update: data });

  // Events of this subscription that failed before (no account yet, say) are now part of its
  // state; those with no effect of their own are settled with it.
  const settled = rows.filter((row) => row.id !== event.id && row.status === 'FAILED' && !handlerFor(row.type)?.apply).map((row) => row.id);
  if (settled.length) {
    await tx.stripeEvent.updateMany({ where: { id: { in: settled }, status: 'FAILED' }, data: { status: 'PROCESSED', error: null, processedAt: context.now } });
  }

  // Lock accounts in a fixed order (a subscription that moved has two).
  for (const id of [...new Set([accountId, existing?.accountId ?? accountId])].sort()) await syncAccountPlan({ ...context, cause: event.id }, id);
}

/** The account: metadata.accountId (newest first), then the row's, then whoever is linked to the customer. */
async function resolveAccount(
  tx: Prisma.TransactionClient,
  folded: FoldedSubscription,
  existing: Subscription | null,
  stripeSubscriptionId: string,
): Promise<string> {
  const ids = [...new Set([...folded.hints.map((hint) => hint.accountId), existing?.accountId].filter(isUuid))];
  for (const id of ids) {
    if (await findAccount(tx, id)) return id;
  }
  const customers = [
    ...new Set([...folded.hints.map((hint) => hint.customerId), existing?.stripeCustomerId].filter((id): id is string => typeof id === 'string')),
  ];
  for (const stripeCustomerId of customers) {
    const account = await findAccountByStripeCustomer(tx, stripeCustomerId);
    if (account) return account.id;
  }
  throw new WebhookError(
    `subscription ${stripeSubscriptionId}: no account to apply it to (${ids.length ? `accounts ${ids.join(', ')} do not exist` : 'no metadata.accountId'}, and ${customers.length ? `customer ${customers.join(', ')} is` : 'no customer is'} linked to no account)`,
  );
}

/**
 * The plan: from the prices of the newest snapshot's items (or else an invoice's lines), matched
 * against Plan.stripeFlatPriceId / stripeMeteredPriceId; else metadata.planCode (newest first);
 * else what the row had.
 */
async function resolvePlan(
  tx: Prisma.TransactionClient,
  folded: FoldedSubscription,
  existing: Subscription | null,
  stripeSubscriptionId: string,
): Promise<{ planCode: PlanCode; priceId: string | null }> {
  const priceIds =
    (folded.hints.find((hint) => hint.subscription && hint.priceIds?.length) ?? folded.hints.find((hint) => hint.priceIds?.length))?.priceIds ?? [];
  if (priceIds.length) {
    const plans = await plansWithPrices(tx, priceIds);
    const plan = plans.sort((a, b) => PLAN_ORDER[b.code] - PLAN_ORDER[a.code])[0];
    if (plan) {
      const priceId = [plan.stripeFlatPriceId, plan.stripeMeteredPriceId].find((id) => id && priceIds.includes(id)) ?? null;
      return { planCode: plan.code, priceId };
    }
  }
  const planCode = [...folded.hints.map((hint) => hint.planCode), existing?.planCode].find(isPlanCode);
  if (planCode) return { planCode, priceId: priceIds[0] ?? existing?.stripePriceId ?? null };
  throw new WebhookError(
    `subscription ${stripeSubscriptionId}: cannot tell its plan (${priceIds.length ? `prices ${priceIds.join(', ')} belong to no plan: has \`tollgraph stripe setup\` run?` : 'no prices'}, and no metadata.planCode)`,
  );
}

/**
 * Puts the account on the plan its subscriptions entitle it to now (see accountPlan), with an
 * audit entry by `system:stripe`. Locks the account row first, so concurrent events and grace
 * checks of one account apply one after the other. Returns whether the plan changed.
 */
export async function syncAccountPlan(
  context: Pick<ApplyContext, 'tx' | 'now' | 'graceMs' | 'accounts' | 'touchedAccounts'> & { cause: string },
  accountId: string,
): Promise<boolean> {
  const { tx, now, graceMs, accounts, touchedAccounts, cause } = context;
  if (!(await lockAccount(tx, accountId))) return false;
  const subscriptions = await tx.subscription.findMany({ where: { accountId }, select: { planCode: true, status: true, pastDueSince: true } });
  const target = accountPlan(subscriptions, now, graceMs);
  if (!target || !(await accounts.setPlanIn(tx, accountId, target, { ...STRIPE_ACTOR, requestId: cause }))) return false;
  touchedAccounts.add(accountId);
  return true;
}
