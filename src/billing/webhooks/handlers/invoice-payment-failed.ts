import type { SubscriptionSignal } from '../../subscriptions';
import type { StoredEvent, WebhookHandler } from '../handler';
import { invoiceHints, invoiceSubscriptionId } from '../stripe-objects';

/**
 * A subscription invoice could not be charged. A renewal's failure makes the subscription
 * past_due: the account keeps its plan for BILLING_PAST_DUE_GRACE_DAYS from the first failure,
 * then gets FREE limits until a payment succeeds. The first invoice's failure leaves it
 * incomplete (no paid plan yet), as Stripe does.
 */
export const invoicePaymentFailed: WebhookHandler = {
  type: 'invoice.payment_failed',
  rank: 4,
  subscriptionOf: invoiceSubscriptionId,
  signal(event: StoredEvent): SubscriptionSignal {
    return { kind: 'payment_failed', firstInvoice: event.object.billing_reason === 'subscription_create', hints: invoiceHints(event.object) };
  },
};
