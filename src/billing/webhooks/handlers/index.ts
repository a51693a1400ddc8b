import type { WebhookHandler } from '../handler';
import { checkoutSessionCompleted } from './checkout-session-completed';
import { creditNoteCreated } from './credit-note-created';
import { creditNoteVoided } from './credit-note-voided';
import { customerSubscriptionCreated } from './customer-subscription-created';
import { customerSubscriptionDeleted } from './customer-subscription-deleted';
import { customerSubscriptionTrialWillEnd } from './customer-subscription-trial-will-end';
import { customerSubscriptionUpdated } from './customer-subscription-updated';
import { invoicePaid } from './invoice-paid';
import { invoicePaymentFailed } from './invoice-payment-failed';

/** Every event type Tollgraph acts on; any other type is answered 200, logged and stored as IGNORED. */
const HANDLERS: ReadonlyMap<string, WebhookHandler> = new Map(
  [
    checkoutSessionCompleted,
    customerSubscriptionCreated,
    customerSubscriptionUpdated,
    customerSubscriptionDeleted,
    customerSubscriptionTrialWillEnd,
    invoicePaid,
    invoicePaymentFailed,
    creditNoteCreated,
    creditNoteVoided,
  ].map((handler) => [handler.type, handler]),
);

export function handlerFor(type: string): WebhookHandler | undefined {
  return HANDLERS.get(type);
}
