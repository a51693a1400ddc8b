import type { AccountAccess } from '../accounts/service';
import { InvalidatingCache } from '../cache/invalidating-cache';
import { TollgraphError } from '../errors';
import type { PrismaClient } from '../generated/prisma/client';
import type { DataProductLifecycle, PlanCode } from '../generated/prisma/enums';
import type { PlanCatalog } from '../plans/service';
import type { PubSub } from '../pubsub/pubsub';
import type { StoredAccessPolicy } from './validation';

/** What deciding access to a product and pricing its usage needs; read on every request, so cached. */
export interface ProductTerms {
  slug: string;
  domain: string;
  lifecycle: DataProductLifecycle;
  plans: readonly PlanCode[];
  addOnMonthlyPriceCents: number | null;
  unitAmountDecimal: string | null;
  /** Set once `stripe setup` made the product's meter: usage through the add-on is billed there. */
  meterEventName: string | null;
}

/**
 * How a caller came to read a product: admins read everything; subscribers through their plan or
 * an add-on. `meter`: the product's own meter, which usage through an add-on bills on (null: the plans' meter).
 */
export type ProductGrant = { product: string; via: 'admin' | 'plan' | 'addOn'; meter: string | null };

const ALL = 'all';

const dollars = (cents: number) => `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: cents % 100 ? 2 : 0 })}`;

/**
 * Access per data product, decided by the gateway's guard for the product fields an operation
 * selects (src/catalog/product-fields.ts): a product is readable when the caller's plan is in its
 * access policy or its account holds the product as an add-on. The terms of every product are
 * cached in each process and dropped on every process when a product is written.
 */
export class ProductAccess {
  private constructor(
    private readonly prisma: PrismaClient,
    private readonly plans: PlanCatalog,
    private readonly cache: InvalidatingCache<Map<string, ProductTerms>>,
  ) {}

  static async create(prisma: PrismaClient, plans: PlanCatalog, pubsub: PubSub): Promise<ProductAccess> {
    return new ProductAccess(prisma, plans, await InvalidatingCache.create(pubsub, 'products:invalidate', { ttlMs: 30_000 }));
  }

  terms(): Promise<Map<string, ProductTerms>> {
    return this.cache.get(ALL, async () => {
      const rows = await this.prisma.dataProduct.findMany({
        select: {
          slug: true,
          domain: true,
          lifecycle: true,
          accessPolicy: true,
          addOnMonthlyPriceCents: true,
          unitAmountDecimal: true,
          meterEventName: true,
        },
      });
      return new Map(
        rows.map(({ accessPolicy, ...row }) => [
          row.slug,
          { ...row, plans: (accessPolicy as unknown as StoredAccessPolicy).plans ?? [] } satisfies ProductTerms,
        ]),
      );
    });
  }

  /** After a product is written (its policy, prices or Stripe ids): every process reads them again. */
  invalidate(): Promise<void> {
    return this.cache.invalidate(ALL);
  }

  /** How the caller reads each of `products`, or the FORBIDDEN of the first it may not read (naming the cheapest way in). */
  async admit(viewer: { role: string; access: AccountAccess }, products: readonly string[]): Promise<ProductGrant[]> {
    if (viewer.role === 'ADMIN') return products.map((product) => ({ product, via: 'admin', meter: null }));
    const terms = await this.terms();
    const grants: ProductGrant[] = [];
    for (const product of products) {
      const term = terms.get(product);
      const served = term && term.lifecycle !== 'DRAFT';
      if (served && term.plans.includes(viewer.access.plan.code)) grants.push({ product, via: 'plan', meter: null });
      else if (served && viewer.access.addOns.has(product)) grants.push({ product, via: 'addOn', meter: term.meterEventName });
      else throw await this.refusal(product, served ? term : undefined, viewer.access.plan.code);
    }
    return grants;
  }

  private async refusal(product: string, term: ProductTerms | undefined, plan: PlanCode): Promise<TollgraphError> {
    if (!term) return new TollgraphError('FORBIDDEN', `The data product ${product} is not served yet.`, { extensions: { product } });
    const upgrade = (await this.plans.list()).find((candidate) => candidate.code !== plan && term.plans.includes(candidate.code));
    const addOn = term.addOnMonthlyPriceCents;
    const ways = [
      upgrade && `plan ${upgrade.code}${upgrade.monthlyPriceCents ? ` (${dollars(upgrade.monthlyPriceCents)}/month)` : ' (by contract)'}`,
      addOn !== null && `the ${product} add-on (${dollars(addOn)}/month: createAddOnCheckoutSession(product: "${product}"))`,
    ].filter(Boolean);
    // The cheapest way in first: a contract-priced plan (0) is never cheaper than a listed add-on.
    if (upgrade && addOn !== null && (upgrade.monthlyPriceCents === 0 || addOn < upgrade.monthlyPriceCents)) ways.reverse();
    return new TollgraphError(
      'FORBIDDEN',
      `Your plan (${plan}) does not include the data product ${product}${ways.length ? `; get it with ${ways.join(', or ')}` : ''}.`,
      {
        extensions: {
          product,
          plan,
          upgradeTo: upgrade?.code ?? null,
          addOn: addOn !== null ? { product, monthlyPriceCents: addOn } : null,
        },
      },
    );
  }
}
