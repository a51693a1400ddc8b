import { isSubscriptionStatus, type SubscriptionSignal } from '../../subscriptions';
import { WebhookError, type StoredEvent } from '../handler';
import { idOf, metadataOf, str, subscriptionFields, subscriptionPriceIds, type StripeObject } from '../stripe-objects';

/** The `customer.subscription.*` events carry the subscription itself: its id. */
export const subscriptionIdOf = (object: StripeObject): string | undefined => str(object.id);

/** A `customer.subscription.*` event's object is the subscription as Stripe had it at `event.created`. */
export function snapshotSignal(event: StoredEvent): SubscriptionSignal {
  const subscription = event.object;
  if (!isSubscriptionStatus(subscription.status))
    throw new WebhookError(`subscription ${String(subscription.id)} has a status Tollgraph does not know: ${JSON.stringify(subscription.status)}`);
  const metadata = metadataOf(subscription);
  return {
    kind: 'snapshot',
    status: subscription.status,
    hints: {
      accountId: metadata.accountId,
      planCode: metadata.planCode,
      product: metadata.product,
      customerId: idOf(subscription.customer),
      priceIds: subscriptionPriceIds(subscription),
      subscription: subscriptionFields(subscription),
    },
  };
}
