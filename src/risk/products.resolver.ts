import { Arg, Ctx, ID, Query, Resolver, Root, Subscription } from 'type-graphql';
import { requireGrant } from '../auth/entitlements';
import { CUSTOMER_SPEND_FEATURES, MERCHANT_RISK } from '../catalog/operator-products';
import { ProductField } from '../catalog/product-fields';
import { Cost } from '../cost/hints';
import { badInput } from '../errors';
import type { GatewayContext } from '../gateway/context';
import { GRANTS } from '../plans/defaults';
import type { MerchantRiskView } from './operators/merchant-risk';
import type { SpendFeaturesView } from './operators/spend-features';
import { CustomerSpendFeatures, MerchantRisk, toMerchantRisk, toSpendFeatures } from './products.types';

const MAX_KEYS = 100;
const MAX_SUBSCRIBED_KEYS = 1_000;

/** The one place these root fields are tied to their data products (per-product access and usage read the mark). */
const SpendFeaturesField = () => ProductField(CUSTOMER_SPEND_FEATURES.slug);
const MerchantRiskField = () => ProductField(MERCHANT_RISK.slug);

function checkKeys(name: string, keys: string[] | null | undefined, max: number): void {
  if (keys && keys.length > max) throw badInput(`${name} takes at most ${max} ids`, { fields: [name] });
}

/** Live updates are a plan capability, as `riskScoreUpdated` is. */
async function liveFeed<V>(
  context: unknown,
  name: string,
  keys: string[] | null | undefined,
  open: (ctx: GatewayContext) => Promise<AsyncIterableIterator<V>>,
) {
  checkKeys(name, keys, MAX_SUBSCRIBED_KEYS);
  await requireGrant(context as GatewayContext, GRANTS.riskLive);
  return open(context as GatewayContext);
}

@Resolver()
export class OperatorProductsResolver {
  @Cost({ slicingArguments: ['customerIds'] })
  @SpendFeaturesField()
  @Query(() => [CustomerSpendFeatures], {
    nullable: 'items',
    description: `Rolling spend features of up to ${MAX_KEYS} customers, in the order asked (null for one without transactions yet)`,
  })
  async customerSpendFeatures(
    @Ctx() { services }: GatewayContext,
    @Arg('customerIds', () => [ID]) customerIds: string[],
  ): Promise<Array<CustomerSpendFeatures | null>> {
    checkKeys('customerIds', customerIds, MAX_KEYS);
    return (await services.risk.products.spendFeatures(customerIds)).map((view) => view && toSpendFeatures(view));
  }

  @Cost({ slicingArguments: ['merchantIds'] })
  @MerchantRiskField()
  @Query(() => [MerchantRisk], {
    nullable: 'items',
    description: `Risk shares and volume of up to ${MAX_KEYS} merchants, in the order asked (null for one without transactions yet)`,
  })
  async merchantRisk(@Ctx() { services }: GatewayContext, @Arg('merchantIds', () => [ID]) merchantIds: string[]): Promise<Array<MerchantRisk | null>> {
    checkKeys('merchantIds', merchantIds, MAX_KEYS);
    return (await services.risk.products.merchantRisk(merchantIds)).map((view) => view && toMerchantRisk(view));
  }

  @SpendFeaturesField()
  @Subscription(() => CustomerSpendFeatures, {
    description: 'A customer’s spend features each time the operator updates them (any gateway process), optionally only some customers',
    subscribe: ({ args, context }) =>
      liveFeed(context, 'customerIds', (args as { customerIds?: string[] | null }).customerIds, ({ services }) =>
        services.risk.products.updates<SpendFeaturesView>('customer-spend-features', (args as { customerIds?: string[] | null }).customerIds),
      ),
  })
  customerSpendFeaturesUpdated(
    @Root() view: SpendFeaturesView,
    @Arg('customerIds', () => [ID], { nullable: true }) _customerIds: string[] | null,
  ): CustomerSpendFeatures {
    return toSpendFeatures(view);
  }

  @MerchantRiskField()
  @Subscription(() => MerchantRisk, {
    description: 'A merchant’s risk each time the operator updates it (any gateway process), optionally only some merchants',
    subscribe: ({ args, context }) =>
      liveFeed(context, 'merchantIds', (args as { merchantIds?: string[] | null }).merchantIds, ({ services }) =>
        services.risk.products.updates<MerchantRiskView>('merchant-risk', (args as { merchantIds?: string[] | null }).merchantIds),
      ),
  })
  merchantRiskUpdated(@Root() view: MerchantRiskView, @Arg('merchantIds', () => [ID], { nullable: true }) _merchantIds: string[] | null): MerchantRisk {
    return toMerchantRisk(view);
  }
}
