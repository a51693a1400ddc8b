import type { WebhookHandler } from '../handler';
import { dateOf } from '../stripe-objects';
import { snapshotSignal, subscriptionIdOf } from './subscription-snapshot';

/**
 * Three days before a trial ends. Recorded (the stored event is listed in `stripeEvents`, and its
 * snapshot is folded in like any other); nothing changes for the account until Stripe charges.
 */
export const customerSubscriptionTrialWillEnd: WebhookHandler = {
  type: 'customer.subscription.trial_will_end',
  rank: 2,
  subscriptionOf: subscriptionIdOf,
  signal: snapshotSignal,
  async apply({ event, log }) {
    log.info({ eventId: event.id, subscription: event.object.id, trialEnd: dateOf(event.object.trial_end) }, 'a Stripe trial ends soon');
  },
};
