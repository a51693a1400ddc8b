import type Stripe from 'stripe';
import type { AccountService } from '../accounts/service';
import type { Actor } from '../audit/audit';
import { badInput, TollgraphError } from '../errors';
import { planRow } from '../plans/stripe-prices';
import { productStripeTerms } from '../catalog/stripe-prices';
import type { Account, PlanCode, PrismaClient } from '../generated/prisma/client';

function billingOff(): TollgraphError {
  return new TollgraphError('SERVICE_UNAVAILABLE', 'Billing is not configured on this gateway (no STRIPE_SECRET_KEY).');
}

function pricesNotSetUp(): TollgraphError {
  return new TollgraphError('SERVICE_UNAVAILABLE', 'Stripe prices are not set up yet: an operator must run `tollgraph stripe setup`.');
}

/**
 * A Checkout Session in subscription mode, back to the portal either way; `metadata` goes on the
 * session and on the subscription it creates, which is how the webhook knows what was bought.
 */
async function subscriptionCheckout(
  stripe: Stripe,
  publicUrl: string,
  customer: string,
  metadata: Record<string, string>,
  lineItems: Stripe.Checkout.SessionCreateParams.LineItem[],
): Promise<string> {
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer,
    client_reference_id: metadata.accountId,
    line_items: lineItems,
    success_url: `${publicUrl}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${publicUrl}/?checkout=cancelled`,
    metadata,
    subscription_data: { metadata },
  });
  if (!session.url) throw new TollgraphError('SERVICE_UNAVAILABLE', 'Stripe returned a Checkout Session without a URL; retry shortly.');
  return session.url;
}

/** The account's Stripe customer, created on first use (idempotently, so a retry reuses it). */
async function customerOf(stripe: Stripe, accounts: AccountService, account: Account, actor: Actor): Promise<string> {
  if (account.stripeCustomerId) return account.stripeCustomerId;
  const customer = await stripe.customers.create(
    { email: account.email, name: account.name, metadata: { accountId: account.id } },
    { idempotencyKey: `tollgraph-customer-${account.id}` },
  );
  const linked = await accounts.linkStripeCustomer(account.id, customer.id, actor);
  return linked.stripeCustomerId ?? customer.id;
}

export interface CheckoutDeps {
  stripe?: Stripe;
  prisma: PrismaClient;
  accounts: AccountService;
  publicUrl: string;
}

/** A Stripe Checkout Session (subscription mode) for moving to `planCode`. */
export async function createCheckoutSession(
  { stripe, prisma, accounts, publicUrl }: CheckoutDeps,
  account: Account,
  planCode: PlanCode,
  actor: Actor,
): Promise<string> {
  if (planCode === 'FREE') throw badInput('FREE needs no checkout: cancel the subscription in the billing portal instead', { fields: ['planCode'] });
  if (planCode === 'ENTERPRISE') throw badInput('ENTERPRISE is sold by contract: contact sales', { fields: ['planCode'] });
  if (!stripe) throw billingOff();
  const plan = await planRow(prisma, planCode);
  if (!plan.stripeMeteredPriceId) throw pricesNotSetUp();
  return subscriptionCheckout(stripe, publicUrl, await customerOf(stripe, accounts, account, actor), { accountId: account.id, planCode }, [
    ...(plan.stripeFlatPriceId ? [{ price: plan.stripeFlatPriceId, quantity: 1 }] : []),
    { price: plan.stripeMeteredPriceId },
  ]);
}

/**
 * A Stripe Checkout Session (subscription mode) for a data product's add-on: its monthly price,
 * and its metered price when it has one. `metadata.product` marks the subscription as an add-on,
 * which the webhook applies to the account's add-ons instead of its plan.
 */
export async function createAddOnCheckoutSession(
  { stripe, prisma, accounts, publicUrl }: CheckoutDeps,
  account: Account,
  product: string,
  actor: Actor,
): Promise<string> {
  const terms = await productStripeTerms(prisma, product);
  if (terms?.lifecycle !== 'PUBLISHED') throw badInput(`no published data product ${product}`, { fields: ['product'] });
  if (terms.addOnMonthlyPriceCents === null) throw badInput(`${product} is not sold as an add-on: it comes with a plan`, { fields: ['product'] });
  if (!stripe) throw billingOff();
  if (!terms.stripeAddOnPriceId) throw pricesNotSetUp();
  return subscriptionCheckout(stripe, publicUrl, await customerOf(stripe, accounts, account, actor), { accountId: account.id, product }, [
    { price: terms.stripeAddOnPriceId, quantity: 1 },
    ...(terms.stripeMeteredPriceId ? [{ price: terms.stripeMeteredPriceId }] : []),
  ]);
}

/** A Stripe Billing Portal session for the account's customer. */
export async function createBillingPortalSession({ stripe, publicUrl }: Pick<CheckoutDeps, 'stripe' | 'publicUrl'>, account: Account): Promise<string> {
  if (!stripe) throw billingOff();
  if (!account.stripeCustomerId) throw badInput('this account has no billing relationship yet: subscribe with createCheckoutSession first');
  const session = await stripe.billingPortal.sessions.create({ customer: account.stripeCustomerId, return_url: `${publicUrl}/` });
  return session.url;
}
