import type Stripe from 'stripe';

/** The active Price under `lookupKey` if `same` accepts it, else a new one that takes the lookup key over. */
export async function findOrCreatePrice(
  stripe: Stripe,
  lookupKey: string,
  params: Stripe.PriceCreateParams,
  same: (price: Stripe.Price) => boolean,
): Promise<Stripe.Price> {
  const existing = (await stripe.prices.list({ lookup_keys: [lookupKey], active: true, limit: 1 })).data[0];
  if (existing && same(existing)) return existing;
  // A changed price is a new Price (Stripe prices are immutable); the lookup key moves to it.
  return stripe.prices.create({ ...params, lookup_key: lookupKey, transfer_lookup_key: true });
}

/** The active meter counting `eventName` (sum of cost units per customer), created when there is none. */
export async function findOrCreateMeter(stripe: Stripe, eventName: string, displayName: string): Promise<Stripe.Billing.Meter> {
  const meters = await stripe.billing.meters.list({ status: 'active', limit: 100 });
  return (
    meters.data.find((candidate) => candidate.event_name === eventName) ??
    stripe.billing.meters.create({
      display_name: displayName,
      event_name: eventName,
      default_aggregation: { formula: 'sum' },
      customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
      value_settings: { event_payload_key: 'value' },
    })
  );
}
