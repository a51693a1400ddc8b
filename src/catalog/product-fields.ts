import type { GraphQLField } from 'graphql';
import { Extensions } from 'type-graphql';

/**
 * Marks a root field (query, mutation or subscription) as part of a data product: the gateway's
 * guard admits it only for callers whose plan includes the product or whose account bought it as
 * an add-on, and the usage ledger records the product of what the field costs. A product's team
 * registers its fields by putting this on its resolvers: `@ProductField('merchant-risk')`.
 */
export const ProductField = (slug: string) => Extensions({ product: slug });

/** The data product a root field belongs to (undefined: none, e.g. `me` or the catalogue). */
export function productOf(field: GraphQLField<unknown, unknown> | undefined): string | undefined {
  const product = field?.extensions?.product;
  return typeof product === 'string' ? product : undefined;
}
