import { findAccount, findAccountByStripeCustomer } from '../../../accounts/service';
import type { SubscriptionSignal } from '../../subscriptions';
import { STRIPE_ACTOR, WebhookError, type ApplyContext, type StoredEvent, type WebhookHandler } from '../handler';
import { idOf, isUuid, metadataOf, str } from '../stripe-objects';

function accountReference(session: StoredEvent['object']): string | undefined {
  return str(session.client_reference_id) ?? metadataOf(session).accountId;
}

/**
 * A subscriber finished Stripe Checkout (createCheckoutSession: `client_reference_id` and
 * `metadata.accountId` name the account). Links the Stripe customer to the account when that was
 * not done yet (an existing link is kept) and, when paid, counts as the subscription's first
 * payment, so the plan applies even if `customer.subscription.*` events arrive later.
 * A session that names no account of ours and whose customer we do not know is IGNORED.
 */
export const checkoutSessionCompleted: WebhookHandler = {
  type: 'checkout.session.completed',
  rank: 3,
  subscriptionOf: (session) => idOf(session.subscription),
  signal(event: StoredEvent): SubscriptionSignal {
    const session = event.object;
    const metadata = metadataOf(session);
    const hints = { accountId: accountReference(session), planCode: metadata.planCode, product: metadata.product, customerId: idOf(session.customer) };
    const paid = session.payment_status === 'paid' || session.payment_status === 'no_payment_required';
    return paid ? { kind: 'paid', hints } : { kind: 'hints', hints };
  },
  async apply({ tx, event, log, accounts, touchedAccounts }: ApplyContext) {
    const session = event.object;
    const reference = accountReference(session);
    const customer = idOf(session.customer);
    const account = reference && isUuid(reference) ? await findAccount(tx, reference) : null;
    if (!account) {
      if (reference) throw new WebhookError(`checkout session ${String(session.id)} names account ${reference}, which does not exist`);
      const linked = customer ? await findAccountByStripeCustomer(tx, customer) : null;
      if (linked) return;
      log.info({ eventId: event.id, session: session.id }, 'checkout session names no Tollgraph account: ignored');
      return 'ignored';
    }
    if (!customer || account.stripeCustomerId === customer) return;
    if (account.stripeCustomerId) {
      log.warn(
        { eventId: event.id, accountId: account.id, customer, linked: account.stripeCustomerId },
        'account is linked to another Stripe customer already; keeping that link',
      );
      return;
    }
    const holder = await findAccountByStripeCustomer(tx, customer);
    if (holder) {
      log.warn(
        { eventId: event.id, accountId: account.id, customer, holder: holder.id },
        'Stripe customer is linked to another account already; not linking it again',
      );
      return;
    }
    await accounts.linkStripeCustomerIn(tx, account.id, customer, { ...STRIPE_ACTOR, requestId: event.id });
    touchedAccounts.add(account.id);
  },
};
