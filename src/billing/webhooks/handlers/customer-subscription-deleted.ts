import { TERMINAL_STATUSES, type SubscriptionSignal } from '../../subscriptions';
import type { StoredEvent, WebhookHandler } from '../handler';
import { snapshotSignal, subscriptionIdOf } from './subscription-snapshot';

/**
 * The subscription ended (canceled, or incomplete_expired). Final: no event Stripe dated later,
 * nor one delivered later, can bring it back, and the account falls back to FREE unless another
 * subscription entitles it to more.
 */
export const customerSubscriptionDeleted: WebhookHandler = {
  type: 'customer.subscription.deleted',
  // Within one second, after everything else.
  rank: 9,
  subscriptionOf: subscriptionIdOf,
  signal(event: StoredEvent): SubscriptionSignal {
    const signal = snapshotSignal({ ...event, object: { ...event.object, status: event.object.status ?? 'canceled' } });
    // A deleted subscription has ended whatever its object says.
    return signal.kind === 'snapshot' && !TERMINAL_STATUSES.has(signal.status) ? { ...signal, status: 'canceled' } : signal;
  },
};
