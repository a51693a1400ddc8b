import { Arg, Ctx, Field, Float, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { PublisherOrAdmin } from '../auth/access';
import { mayPublishDomain, viewerOf } from '../auth/guards';
import { Free } from '../cost/hints';
import type { GatewayContext } from '../gateway/context';

@ObjectType({ description: 'A data product’s usage and revenue in one UTC month' })
export class ProductRevenueRow {
  @Field({ description: 'YYYY-MM (UTC)' })
  month!: string;

  @Field()
  product!: string;

  @Field({ description: 'The owning domain' })
  domain!: string;

  @Field(() => Int, { description: 'Requests that read the product' })
  requests!: number;

  @Field(() => Int, { description: 'Cost units its fields were charged' })
  units!: number;

  @Field(() => Int, { description: 'Of those, units read through its add-on (billed on its own meter)' })
  meteredUnits!: number;

  @Field(() => Float, { description: 'meteredUnits at the product’s unit price, in cents' })
  revenueCents!: number;

  @Field(() => Float, {
    description: 'What paid Stripe invoices charged on the product’s prices (add-on fees and metered units) for the month, in cents (USD)',
  })
  invoicedCents!: number;
}

@ObjectType({ description: 'A domain’s products together in one UTC month' })
export class DomainRevenueRow {
  @Field()
  month!: string;

  @Field()
  domain!: string;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int)
  units!: number;

  @Field(() => Int)
  meteredUnits!: number;

  @Field(() => Float)
  revenueCents!: number;

  @Field(() => Float)
  invoicedCents!: number;
}

@ObjectType({
  description: 'Usage and revenue per data product and per owning domain, by month, from the usage ledger, the products’ prices and paid Stripe invoices',
})
export class ProductRevenueReport {
  @Field(() => [ProductRevenueRow])
  products!: ProductRevenueRow[];

  @Field(() => [DomainRevenueRow])
  domains!: DomainRevenueRow[];
}

@Resolver()
export class ProductRevenueResolver {
  @PublisherOrAdmin()
  @Free()
  @Query(() => ProductRevenueReport, {
    description:
      'Usage and revenue per data product, owning domain and month, `from` to `to` (YYYY-MM, both included, at most 24 months). ADMIN: every product; a PUBLISHER: the products of its domains.',
  })
  productRevenue(@Ctx() context: GatewayContext, @Arg('from', () => String) from: string, @Arg('to', () => String) to: string): Promise<ProductRevenueReport> {
    const viewer = viewerOf(context);
    return context.services.productRevenue.report(from, to, (domain) => mayPublishDomain(viewer, domain));
  }
}
