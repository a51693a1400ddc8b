import type { WebhookHandler } from '../handler';
import { snapshotSignal, subscriptionIdOf } from './subscription-snapshot';

/**
 * Any change to a subscription: status (active, past_due, unpaid, …), plan (its prices),
 * cancellation at period end, a new period. The object is the whole subscription after the change.
 */
export const customerSubscriptionUpdated: WebhookHandler = {
  type: 'customer.subscription.updated',
  rank: 2,
  subscriptionOf: subscriptionIdOf,
  signal: snapshotSignal,
};
