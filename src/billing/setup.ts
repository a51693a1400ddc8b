import Stripe from 'stripe';
import type { Actor } from '../audit/audit';
import type { PlanCode, Prisma, PrismaClient } from '../generated/prisma/client';
import { planRow, setStripePrices } from '../plans/stripe-prices';
import { readSetting, writeSetting } from '../settings/store';
import { findOrCreateMeter, findOrCreatePrice } from './find-or-create';
import { setupProductPrices, type ProductSetup } from './product-setup';

const METER_SETTING = 'stripe.meter';

/** The Stripe meter `stripe setup` created or found; undefined before it ran. */
export async function meterId(db: PrismaClient | Prisma.TransactionClient): Promise<string | undefined> {
  return (await plansMeter(db))?.id;
}

/** The plans' Stripe meter and its event name; undefined before `stripe setup` ran. */
export async function plansMeter(db: PrismaClient | Prisma.TransactionClient): Promise<{ id: string; eventName: string } | undefined> {
  const setting = (await readSetting(db, METER_SETTING)) as { id?: string; eventName?: string } | undefined;
  return setting?.id && setting.eventName ? { id: setting.id, eventName: setting.eventName } : undefined;
}

/** Default overage per cost unit above the flat fee, in cents (as Stripe's decimal string). */
const OVERAGE_CENTS: Record<Exclude<PlanCode, 'FREE'>, string> = { PROFESSIONAL: '0.05', ENTERPRISE: '0.02' };

export interface StripeSetup {
  meterId: string;
  eventName: string;
  plans: Array<{ code: PlanCode; productId: string; flatPriceId: string | null; meteredPriceId: string }>;
  products: ProductSetup[];
}

/**
 * Creates or updates, idempotently, what billing needs in Stripe: one Meter (sum of cost units
 * per customer), a Product per paid plan, PROFESSIONAL's flat monthly Price and a metered
 * overage Price on the meter for PROFESSIONAL and ENTERPRISE (whose flat fee is per contract).
 * Stores the ids with the plans.
 */
export async function setupStripe(stripe: Stripe, prisma: PrismaClient, eventName: string, actor: Actor): Promise<StripeSetup> {
  const meter = await findOrCreateMeter(stripe, eventName, 'Tollgraph cost units');

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
  return { meterId: meter.id, eventName, plans, products: await setupProductPrices(stripe, prisma, actor) };
}
