import type { SubscriptionSignal } from '../../subscriptions';
import { recordInvoiceLines } from '../../invoice-lines';
import { WebhookError, type ApplyContext, type StoredEvent, type StripeReads, type WebhookHandler } from '../handler';
import { carriedLines, idOf, invoiceHints, invoiceLineFields, invoiceSubscriptionId, str, withAllLines } from '../stripe-objects';

/**
 * A subscription invoice was paid: the first one (incomplete -> active) or a renewal, possibly
 * after failed attempts (past_due -> active, which ends the grace period and restores the plan).
 * Its lines are recorded for revenue per data product (all of them: the event carries the first
 * ones, Stripe the rest, read before the transaction). Invoices of no subscription are not ours
 * to act on (stored as IGNORED).
 */
export const invoicePaid: WebhookHandler = {
  type: 'invoice.paid',
  rank: 5,
  subscriptionOf: invoiceSubscriptionId,
  signal(event: StoredEvent): SubscriptionSignal {
    return { kind: 'paid', hints: invoiceHints(event.object) };
  },
  async complete(event: StoredEvent, stripe: StripeReads | undefined): Promise<StoredEvent> {
    const invoice = event.object;
    const id = idOf(invoice.id);
    if (!id || !invoiceSubscriptionId(invoice) || carriedLines(invoice).complete) return event;
    if (!stripe) throw new WebhookError(`invoice ${id} has more lines than its event carries, and without STRIPE_SECRET_KEY they cannot be read`);
    return { ...event, object: withAllLines(invoice, await stripe.invoiceLineItems(id)) };
  },
  async apply({ tx, event }: ApplyContext) {
    const invoice = event.object;
    const subscription = invoiceSubscriptionId(invoice);
    const id = idOf(invoice.id);
    if (!subscription || !id) return 'ignored';
    const { lines, complete } = carriedLines(invoice);
    // complete() read the rest before the transaction; an event applied without it would lose lines.
    if (!complete) throw new WebhookError(`invoice ${id} has more lines than its event carries: the event was not completed from Stripe`);
    await recordInvoiceLines(
      tx,
      { id, stripeCustomerId: idOf(invoice.customer) ?? null, stripeSubscriptionId: subscription, paidAt: event.created, eventId: event.id },
      invoiceLineFields(lines, str(invoice.currency)),
    );
  },
};
