import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { AccountsResolver } from '../accounts/accounts.resolver';
import { AnalyticsResolver } from '../analytics/analytics.resolver';
import { AuditResolver } from '../audit/audit.resolver';
import { DataProductsResolver } from '../catalog/catalog.resolver';
import { ProductRevenueResolver } from '../billing/revenue.resolver';
import { enforceGrants } from '../auth/entitlements';
import { DateTime } from '../graphql/date-time';
import { MeResolver } from '../auth/me.resolver';
import { AccountKeysResolver, KeysResolver } from '../keys/keys.resolver';
import { HealthResolver } from '../ops/health.resolver';
import { BillingAdminResolver, BillingResolver } from '../billing/billing.resolver';
import { MeSubscriptionResolver, StripeWebhooksResolver } from '../billing/webhooks/webhooks.resolver';
import { RateLimitResolver } from '../limits/rate-limit.resolver';
import { UsageResolver } from '../metering/usage.resolver';
import { PlansResolver } from '../plans/plans.resolver';
import { OperatorProductsResolver } from '../risk/products.resolver';
import { RiskResolver, SUBSCRIBE_ONLY } from '../risk/risk.resolver';
import { SlaResolver } from '../sla/sla.resolver';

/** Every domain's resolvers, composed into the one public schema. */
const resolvers = [
  HealthResolver,
  PlansResolver,
  MeResolver,
  AccountsResolver,
  AccountKeysResolver,
  KeysResolver,
  AuditResolver,
  RateLimitResolver,
  UsageResolver,
  BillingResolver,
  BillingAdminResolver,
  StripeWebhooksResolver,
  MeSubscriptionResolver,
  DataProductsResolver,
  ProductRevenueResolver,
  RiskResolver,
  OperatorProductsResolver,
  AnalyticsResolver,
  SlaResolver,
] as const;

export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  return enforceGrants(await buildSchema({ resolvers, validate: false, pubSub: SUBSCRIBE_ONLY, scalarsMap: [{ type: Date, scalar: DateTime }] }));
}

/** The text committed as `schema.graphql`; sorted so it diffs cleanly. */
export function printGatewaySchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
