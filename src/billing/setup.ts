import Stripe from 'stripe';
import type { Actor } from '../audit/audit';
import type { PlanCode, Prisma, PrismaClient } from '../generated/prisma/client';
import { planRow, setStripePrices } from '../plans/stripe-prices';
import { readSetting, writeSetting } from '../settings/store';

const METER_SETTING = 'stripe.meter';

/** The Stripe meter `stripe setup` created or found; undefined before it ran. */
export async function meterId(db: PrismaClient | Prisma.TransactionClient): Promise<string | undefined> {
  return ((await readSetting(db, METER_SETTING)) as { id?: string } | undefined)?.id;
}

/** Default overage per cost unit above the flat fee, in cents (as Stripe's decimal string). */
const OVERAGE_CENTS: Record<Exclude<PlanCode, 'FREE'>, string> = { PROFESSIONAL: '0.05', ENTERPRISE: '0.02' };

export interface StripeSetup {
  meterId: string;
  eventName: string;
  plans: Array<{ code: PlanCode; productId: string; flatPriceId: string | null; meteredPriceId: string }>;
}

async function findOrCreatePrice(
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

/**
 * Creates or updates, idempotently, what billing needs in Stripe: one Meter (sum of cost units
 * per customer), a Product per paid plan, PROFESSIONAL's flat monthly Price and a metered
 * overage Price on the meter for PROFESSIONAL and ENTERPRISE (whose flat fee is per contract).
 * Stores the ids with the plans.
 */
export async function setupStripe(stripe: Stripe, prisma: PrismaClient, eventName: string, actor: Actor): Promise<StripeSetup> {
  const meters = await stripe.billing.meters.list({ status: 'active', limit: 100 });
  const meter =
    meters.data.find((candidate) => candidate.event_name === eventName) ??
    (await stripe.billing.meters.create({
      display_name: 'Tollgraph cost units',
      event_name: eventName,
      default_aggregation: { formula: 'sum' },
      customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
      value_settings: { event_payload_key: 'value' },
    }));

  const plans: StripeSetup['plans'] = [];
  for (const code of ['PROFESSIONAL', 'ENTERPRISE'] as const) {
    const plan = await planRow(prisma, code);
    const productId = `tollgraph_${code.toLowerCase()}`;
    const product = await stripe.products.retrieve(productId).then(
      (found) => stripe.products.update(found.id, { name: `Tollgraph ${plan.name}`, active: true }),
      () => stripe.products.create({ id: productId, name: `Tollgraph ${plan.name}`, metadata: { planCode: code } }),
    );
    const flat =
      code === 'PROFESSIONAL'
        ? await findOrCreatePrice(
            stripe,
            `tollgraph_${code.toLowerCase()}_flat`,
            { product: product.id, currency: plan.currency, unit_amount: plan.monthlyPriceCents, recurring: { interval: 'month', usage_type: 'licensed' } },
            (price) => price.unit_amount === plan.monthlyPriceCents,
          )
        : null;
    const overage = plan.overageUnitAmountDecimal ?? OVERAGE_CENTS[code];
    const metered = await findOrCreatePrice(
      stripe,
      `tollgraph_${code.toLowerCase()}_overage`,
      {
        product: product.id,
        currency: plan.currency,
        unit_amount_decimal: Stripe.Decimal.from(overage),
        recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      },
      (price) => String(price.unit_amount_decimal) === String(Stripe.Decimal.from(overage)) && price.recurring?.meter === meter.id,
    );
    plans.push({ code, productId: product.id, flatPriceId: flat?.id ?? null, meteredPriceId: metered.id });
  }

  await prisma.$transaction(async (tx) => {
    for (const { code, ...prices } of plans) await setStripePrices(tx, code, { ...prices, defaultOverage: OVERAGE_CENTS[code as 'PROFESSIONAL'] }, actor);
    await writeSetting(tx, METER_SETTING, { id: meter.id, eventName });
  });
  return { meterId: meter.id, eventName, plans };
}
