import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema } from 'type-graphql';
import { AccountsResolver } from '../accounts/accounts.resolver';
import { AuditResolver } from '../audit/audit.resolver';
import { MeResolver } from '../auth/me.resolver';
import { AccountKeysResolver, KeysResolver } from '../keys/keys.resolver';
import { HealthResolver } from '../ops/health.resolver';
import { PlansResolver } from '../plans/plans.resolver';

/** Every domain's resolvers, composed into the one public schema. */
const resolvers = [HealthResolver, PlansResolver, MeResolver, AccountsResolver, AccountKeysResolver, KeysResolver, AuditResolver] as const;

export function buildGatewaySchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers, validate: false, scalarsMap: [{ type: Date, scalar: DateTimeResolver }] });
}

/** The text committed as `schema.graphql`; sorted so it diffs cleanly. */
export function printGatewaySchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
