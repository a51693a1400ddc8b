import type { WebhookHandler } from '../handler';
import { snapshotSignal, subscriptionIdOf } from './subscription-snapshot';

/** A subscription was created (by Checkout, usually `incomplete` until its first invoice is paid). */
export const customerSubscriptionCreated: WebhookHandler = {
  type: 'customer.subscription.created',
  rank: 1,
  subscriptionOf: subscriptionIdOf,
  signal: snapshotSignal,
};
