import type { GraphQLField } from 'graphql';
import { Extensions } from 'type-graphql';

/**
 * How a field costs, declared next to its resolver (after the GraphQL cost directive spec):
 * - `weight`: cost of each object the field returns (default 1 for objects, 0 for scalars);
 * - `slicingArguments`: arguments that size the result (`first`, or a list of ids: its length);
 * - `sizedFields`: on a connection, the child lists that size applies to (`nodes`);
 * - `free`: the field and everything under it cost nothing (health, plans, rateLimit, me).
 */
export interface CostHint {
  weight?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
  free?: boolean;
}

export const Cost = (hint: CostHint) => Extensions({ cost: hint });
export const Free = () => Cost({ free: true });

export function costHintOf(field: GraphQLField<unknown, unknown>): CostHint {
  return (field.extensions?.cost as CostHint | undefined) ?? {};
}
