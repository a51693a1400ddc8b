import Stripe from 'stripe';
import type { Actor } from '../audit/audit';
import type { PrismaClient } from '../generated/prisma/client';
import { pricedProducts, setProductStripeIds, type ProductStripeIds } from '../catalog/stripe-prices';
import { findOrCreateMeter, findOrCreatePrice } from './find-or-create';

/** The currency of every data product's prices (and so of their revenue). */
export const PRODUCT_CURRENCY = 'usd';

export interface ProductSetup extends ProductStripeIds {
  slug: string;
}

/**
 * The event name of a product's own meter. One meter per product rather than one meter with a
 * product dimension: a metered Price attaches to exactly one meter, so a product's own unit
 * price needs its own meter anyway, and meters without dimensions are the generally available
 * API (stripe-mock included); each meter's event summaries then reconcile one product.
 */
export const productMeterEventName = (slug: string) => `tollgraph_product_${slug.replaceAll('-', '_')}`;

/**
 * For every data product with a price of its own: a Stripe Product, the add-on's monthly Price,
 * and a Meter with a metered Price for the units read through the add-on. Idempotent (lookup
 * keys; a changed amount makes a new Price). Ids stored with the products.
 */
export async function setupProductPrices(stripe: Stripe, prisma: PrismaClient, actor: Actor): Promise<ProductSetup[]> {
  const setups: ProductSetup[] = [];
  for (const product of await pricedProducts(prisma)) {
    const productId = `tollgraph_product_${product.slug}`;
    const stripeProduct = await stripe.products.retrieve(productId).then(
      (found) => stripe.products.update(found.id, { name: `Tollgraph data product: ${product.name}`, active: true }),
      () => stripe.products.create({ id: productId, name: `Tollgraph data product: ${product.name}`, metadata: { product: product.slug } }),
    );
    const monthly = product.addOnMonthlyPriceCents;
    const addOn =
      monthly === null
        ? null
        : await findOrCreatePrice(
            stripe,
            `${productId}_add_on`,
            { product: stripeProduct.id, currency: PRODUCT_CURRENCY, unit_amount: monthly, recurring: { interval: 'month', usage_type: 'licensed' } },
            (price) => price.unit_amount === monthly,
          );
    const unit = product.unitAmountDecimal;
    const eventName = unit === null ? null : productMeterEventName(product.slug);
    const meter = eventName === null ? null : await findOrCreateMeter(stripe, eventName, `Tollgraph ${product.slug} cost units`);
    const metered =
      unit === null || meter === null
        ? null
        : await findOrCreatePrice(
            stripe,
            `${productId}_units`,
            {
              product: stripeProduct.id,
              currency: PRODUCT_CURRENCY,
              unit_amount_decimal: Stripe.Decimal.from(unit),
              recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
            },
            (price) => String(price.unit_amount_decimal) === String(Stripe.Decimal.from(unit)) && price.recurring?.meter === meter.id,
          );
    setups.push({
      slug: product.slug,
      stripeProductId: stripeProduct.id,
      stripeAddOnPriceId: addOn?.id ?? null,
      stripeMeteredPriceId: metered?.id ?? null,
      stripeMeterId: meter?.id ?? null,
      meterEventName: eventName,
    });
  }
  await prisma.$transaction(async (tx) => {
    for (const { slug, ...ids } of setups) await setProductStripeIds(tx, slug, ids, actor);
  });
  return setups;
}
