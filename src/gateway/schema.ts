import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { HealthResolver } from '../ops/health.resolver';
import { PlansResolver } from '../plans/plans.resolver';

/** Every domain's resolvers, composed into the one public schema. */
const resolvers = [HealthResolver, PlansResolver] as const;

export function buildGatewaySchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers, validate: false });
}

/** The text committed as `schema.graphql`; sorted so it diffs cleanly. */
export function printGatewaySchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
