import type { SubscriptionSignal } from '../../subscriptions';
import { recordInvoiceLines } from '../../invoice-lines';
import { WebhookError, type ApplyContext, type StoredEvent, type WebhookHandler } from '../handler';
import { idOf, invoiceHints, invoiceLineFields, invoiceLines, invoiceSubscriptionId, str } from '../stripe-objects';

/**
 * A subscription invoice was paid: the first one (incomplete -> active) or a renewal, possibly
 * after failed attempts (past_due -> active, which ends the grace period and restores the plan).
 * Its lines are recorded for revenue per data product (all of them: the event carries the first
 * ones, Stripe the rest). Invoices of no subscription are not ours to act on (stored as IGNORED).
 */
export const invoicePaid: WebhookHandler = {
  type: 'invoice.paid',
  rank: 5,
  subscriptionOf: invoiceSubscriptionId,
  signal(event: StoredEvent): SubscriptionSignal {
    return { kind: 'paid', hints: invoiceHints(event.object) };
  },
  async apply({ tx, event, invoiceLineItems }: ApplyContext) {
    const invoice = event.object;
    const subscription = invoiceSubscriptionId(invoice);
    const id = idOf(invoice.id);
    if (!subscription || !id) return 'ignored';
    const carried = invoiceLines(invoice);
    let lines = carried.lines;
    if (!carried.complete) {
      if (!invoiceLineItems) throw new WebhookError(`invoice ${id} has more lines than its event carries, and without STRIPE_SECRET_KEY they cannot be read`);
      lines = await invoiceLineItems(id);
    }
    await recordInvoiceLines(
      tx,
      { id, stripeCustomerId: idOf(invoice.customer) ?? null, stripeSubscriptionId: subscription, paidAt: event.created, eventId: event.id },
      invoiceLineFields(lines, str(invoice.currency)),
    );
  },
};
