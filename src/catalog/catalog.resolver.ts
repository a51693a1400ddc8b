import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Float, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PublisherOrAdmin } from '../auth/access';
import { RequiresGrant } from '../auth/entitlements';
import { Free } from '../cost/hints';
import { isAdmin, mayPublishDomain, viewerOf } from '../auth/guards';
import { actorOf } from '../auth/viewer';
import type { GatewayContext } from '../gateway/context';
import { GRANTS } from '../plans/defaults';
import { DataProduct, DataProductInput, ProductAccessView } from './data-product.types';
import type { DataProductDefinition } from './validation';

/** Who is writing, and which domains the key may write (every audit entry names the key). */
function writer(context: GatewayContext) {
  const viewer = viewerOf(context);
  return [actorOf(viewer, context.requestId), (domain: string) => mayPublishDomain(viewer, domain)] as const;
}

/** The GraphQL input as the catalogue validates it (type-graphql gives class instances). */
function definitionOf({ slo, accessPolicy, pricing, ...rest }: DataProductInput): DataProductDefinition {
  return {
    ...rest,
    pricing: pricing ? { ...pricing } : null,
    slo: { ...slo },
    accessPolicy: { plans: [...accessPolicy.plans], fields: accessPolicy.fields.map(({ plan, fields }) => ({ plan, fields: [...fields] })) },
  };
}

@Resolver(() => DataProduct)
export class DataProductsResolver {
  @RequiresGrant(GRANTS.catalog)
  @Free()
  @Query(() => [DataProduct], {
    description:
      'The data-product catalogue (the marketplace), by domain then slug: PUBLISHED and DEPRECATED products; ADMIN keys also see DRAFTs, PUBLISHER keys those of their domains. Every filter is optional.',
  })
  dataProducts(
    @Ctx() context: GatewayContext,
    @Arg('domain', () => String, { nullable: true }) domain?: string,
    @Arg('includedInPlan', () => Boolean, { nullable: true, description: 'true: those the caller’s plan includes; false: those it does not' })
    includedInPlan?: boolean,
    @Arg('maxFreshnessSeconds', () => Float, { nullable: true, description: 'Products whose SLO promises data at most this old' })
    maxFreshnessSeconds?: number,
    @Arg('minAvailability', () => Float, { nullable: true, description: 'Products whose SLO promises at least this availability (percent)' })
    minAvailability?: number,
    @Arg('maxAddOnPriceCents', () => Int, { nullable: true, description: 'Products sold as an add-on for at most this (cents a month)' })
    maxAddOnPriceCents?: number,
  ): Promise<DataProduct[]> {
    const viewer = viewerOf(context);
    return context.services.catalog.list(
      domain ?? undefined,
      { draftsOf: (productDomain) => mayPublishDomain(viewer, productDomain) },
      { plan: viewer.access.plan.code, includedInPlan, maxFreshnessSeconds, minAvailability, maxAddOnPriceCents },
    );
  }

  @FieldResolver(() => ProductAccessView, { description: 'How the caller may read the product: through its plan, an add-on it holds, or not yet' })
  viewerAccess(@Root() product: DataProduct, @Ctx() context: GatewayContext): ProductAccessView {
    const viewer = viewerOf(context);
    const includedInPlan = product.accessPolicy.plans.includes(viewer.access.plan.code);
    const addOn = viewer.access.addOns.has(product.slug);
    return { includedInPlan, addOn, readable: isAdmin(viewer) || ((includedInPlan || addOn) && product.status !== 'DRAFT') };
  }

  @RequiresGrant(GRANTS.catalog)
  @Free()
  @Query(() => DataProduct, { nullable: true, description: 'A data product by id or slug (e.g. customer-risk-scores).' })
  dataProduct(@Ctx() context: GatewayContext, @Arg('id', () => ID) id: string): Promise<DataProduct | null> {
    const viewer = viewerOf(context);
    return context.services.catalog.find(id, { draftsOf: (domain) => mayPublishDomain(viewer, domain) });
  }

  @PublisherOrAdmin()
  @Mutation(() => DataProduct, {
    description:
      'Validates and publishes a data product: its type must exist in this API, its event schema must be valid JSON Schema, its policy must name known plans and fields of the type. An existing slug needs a higher version. ADMIN, or a PUBLISHER of the product’s domain.',
  })
  publishDataProduct(
    @Ctx() context: GatewayContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('input', () => DataProductInput) input: DataProductInput,
  ): Promise<DataProduct> {
    return context.services.catalog.publish(definitionOf(input), info.schema, ...writer(context));
  }

  @PublisherOrAdmin()
  @Mutation(() => DataProduct, {
    description:
      'Validates and saves a product that has not been published yet as a DRAFT, visible to ADMIN keys only. ADMIN, or a PUBLISHER of the product’s domain.',
  })
  saveDataProductDraft(
    @Ctx() context: GatewayContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('input', () => DataProductInput) input: DataProductInput,
  ): Promise<DataProduct> {
    return context.services.catalog.saveDraft(definitionOf(input), info.schema, ...writer(context));
  }

  @PublisherOrAdmin()
  @Mutation(() => DataProduct, {
    description: 'Marks a published product DEPRECATED (by id or slug); it stays listed, flagged. Idempotent. ADMIN, or a PUBLISHER of the product’s domain.',
  })
  deprecateDataProduct(@Ctx() context: GatewayContext, @Arg('id', () => ID) id: string): Promise<DataProduct> {
    return context.services.catalog.deprecate(id, ...writer(context));
  }
}
