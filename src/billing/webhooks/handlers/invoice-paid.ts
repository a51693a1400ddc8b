import type { SubscriptionSignal } from '../../subscriptions';
import type { StoredEvent, WebhookHandler } from '../handler';
import { invoiceHints, invoiceSubscriptionId } from '../stripe-objects';

/**
 * A subscription invoice was paid: the first one (incomplete -> active) or a renewal, possibly
 * after failed attempts (past_due -> active, which ends the grace period and restores the plan).
 * Invoices of no subscription are not ours to act on (stored as IGNORED).
 */
export const invoicePaid: WebhookHandler = {
  type: 'invoice.paid',
  rank: 5,
  subscriptionOf: invoiceSubscriptionId,
  signal(event: StoredEvent): SubscriptionSignal {
    return { kind: 'paid', hints: invoiceHints(event.object) };
  },
};
