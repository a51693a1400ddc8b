import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, ID, Info, Mutation, Query, Resolver } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { RequiresGrant } from '../auth/entitlements';
import { Free } from '../cost/hints';
import { isAdmin, viewerOf } from '../auth/guards';
import { actorOf } from '../auth/viewer';
import type { GatewayContext } from '../gateway/context';
import { GRANTS } from '../plans/defaults';
import { DataProduct, DataProductInput } from './data-product.types';
import type { DataProductDefinition } from './validation';

/** The GraphQL input as the catalogue validates it (type-graphql gives class instances). */
function definitionOf({ slo, accessPolicy, ...rest }: DataProductInput): DataProductDefinition {
  return {
    ...rest,
    slo: { ...slo },
    accessPolicy: { plans: [...accessPolicy.plans], fields: accessPolicy.fields.map(({ plan, fields }) => ({ plan, fields: [...fields] })) },
  };
}

@Resolver(() => DataProduct)
export class DataProductsResolver {
  @RequiresGrant(GRANTS.catalog)
  @Free()
  @Query(() => [DataProduct], {
    description: 'The data-product catalogue, by domain then slug: PUBLISHED and DEPRECATED products; ADMIN keys also see DRAFTs.',
  })
  dataProducts(@Ctx() context: GatewayContext, @Arg('domain', () => String, { nullable: true }) domain?: string): Promise<DataProduct[]> {
    return context.services.catalog.list(domain ?? undefined, { includeDrafts: isAdmin(viewerOf(context)) });
  }

  @RequiresGrant(GRANTS.catalog)
  @Free()
  @Query(() => DataProduct, { nullable: true, description: 'A data product by id or slug (e.g. customer-risk-scores).' })
  dataProduct(@Ctx() context: GatewayContext, @Arg('id', () => ID) id: string): Promise<DataProduct | null> {
    return context.services.catalog.find(id, { includeDrafts: isAdmin(viewerOf(context)) });
  }

  @AdminOnly()
  @Mutation(() => DataProduct, {
    description:
      'Validates and publishes a data product: its type must exist in this API, its event schema must be valid JSON Schema, its policy must name known plans and fields of the type. An existing slug needs a higher version. ADMIN.',
  })
  publishDataProduct(
    @Ctx() context: GatewayContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('input', () => DataProductInput) input: DataProductInput,
  ): Promise<DataProduct> {
    return context.services.catalog.publish(definitionOf(input), info.schema, actorOf(viewerOf(context), context.requestId));
  }

  @AdminOnly()
  @Mutation(() => DataProduct, { description: 'Validates and saves a product that has not been published yet as a DRAFT, visible to ADMIN keys only. ADMIN.' })
  saveDataProductDraft(
    @Ctx() context: GatewayContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('input', () => DataProductInput) input: DataProductInput,
  ): Promise<DataProduct> {
    return context.services.catalog.saveDraft(definitionOf(input), info.schema, actorOf(viewerOf(context), context.requestId));
  }

  @AdminOnly()
  @Mutation(() => DataProduct, { description: 'Marks a published product DEPRECATED (by id or slug); it stays listed, flagged. Idempotent. ADMIN.' })
  deprecateDataProduct(@Ctx() context: GatewayContext, @Arg('id', () => ID) id: string): Promise<DataProduct> {
    return context.services.catalog.deprecate(id, actorOf(viewerOf(context), context.requestId));
  }
}
