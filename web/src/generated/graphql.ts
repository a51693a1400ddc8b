/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type AccessPolicyInput = {
  /** One entry for each plan in plans */
  fields: Array<PlanFieldAccessInput>;
  plans: Array<PlanCode>;
};

/** SUBSCRIBER: reads; PUBLISHER: publishes the data products of its domains and sees their usage and revenue; ADMIN: everything */
export type ApiKeyRole =
  | 'ADMIN'
  | 'PUBLISHER'
  | 'SUBSCRIBER';

/** A data product to publish; publishing an existing slug needs a higher version */
export type DataProductInput = {
  accessPolicy: AccessPolicyInput;
  description: string;
  /** Lowercase words joined by hyphens, e.g. risk */
  domain: string;
  /** Avro schema of the same events (a record whose fields are eventSchema’s properties), registered under eventAvroSubject; refused when incompatible with the subject’s earlier schemas (the registry’s compatibility level). Left out: the product keeps its Avro contract */
  eventAvroSchema: unknown;
  /** Registry subject of eventAvroSchema; default <slug>-value. A product’s subject does not change once set */
  eventAvroSubject: string | null | undefined;
  /** JSON Schema (draft 2020-12, "type": "object") of the source events (DataProduct.schema.eventJsonSchema) */
  eventSchema: unknown;
  /** The GraphQL object type of this API the product exposes (DataProduct.schema.graphqlType) */
  graphqlType: string;
  name: string;
  owner: string;
  /** Its own prices; left out: sold through the plans of its policy only */
  pricing: ProductPricingInput | null | undefined;
  slo: SloInput;
  /** Lowercase words joined by hyphens, at most 64 characters */
  slug: string;
  /** Semantic version, e.g. 1.0.0 */
  version: string;
};

/** DRAFT: being prepared, visible to ADMIN keys only; PUBLISHED: served; DEPRECATED: still served, to be retired */
export type DataProductLifecycle =
  | 'DEPRECATED'
  | 'DRAFT'
  | 'PUBLISHED';

/** The plans a subscriber can be on */
export type PlanCode =
  | 'ENTERPRISE'
  | 'FREE'
  | 'PROFESSIONAL';

export type PlanFieldAccessInput = {
  /** Fields of the product’s GraphQL type */
  fields: Array<string>;
  /** Must also be in AccessPolicyInput.plans */
  plan: PlanCode;
};

/** Set a limit to override the plan, or to null to return to the plan value. Omitted limits stay as they are. */
export type PlanOverridesInput = {
  burstPerSecond: number | null | undefined;
  dailyQuota: number | null | undefined;
  maxDepth: number | null | undefined;
  maxQueryCost: number | null | undefined;
  /** Requests in flight each gateway process holds for this account under overload; 0 for none */
  reservedConcurrency: number | null | undefined;
};

export type ProductPricingInput = {
  /** Cents, at least 50; null: not sold as an add-on */
  addOnMonthlyPriceCents: number | null | undefined;
  /** Cents per cost unit as a decimal string, e.g. "0.1"; null: no metered price */
  unitAmountDecimal: string | null | undefined;
};

/** Score bands: LOW 0-249, MEDIUM 250-499, HIGH 500-749, CRITICAL 750-1000 */
export type RiskBand =
  | 'CRITICAL'
  | 'HIGH'
  | 'LOW'
  | 'MEDIUM';

export type SloInput = {
  /** Percent, greater than 0 and at most 100 */
  availability: number;
  /** Seconds, greater than 0 */
  freshnessSeconds: number;
  /** Milliseconds, greater than 0 */
  latencyP99Ms: number;
};

/** RECEIVED (being applied), PROCESSED (applied), FAILED (not applied: Stripe retries, an admin can re-apply), IGNORED (a type or object Tollgraph does not act on) */
export type StripeEventStatus =
  | 'FAILED'
  | 'IGNORED'
  | 'PROCESSED'
  | 'RECEIVED';

/** A Stripe subscription status, spelled as Stripe spells it */
export type SubscriptionStatus =
  | 'active'
  | 'canceled'
  | 'incomplete'
  | 'incomplete_expired'
  | 'past_due'
  | 'paused'
  | 'trialing'
  | 'unpaid';

/** Changes to a plan; omitted fields stay as they are */
export type UpdatePlanInput = {
  burstPerSecond: number | null | undefined;
  dailyQuota: number | null | undefined;
  features: Array<string> | null | undefined;
  /** Replaces the capabilities (see Plan.grants for the names) */
  grants: Array<string> | null | undefined;
  maxDepth: number | null | undefined;
  maxQueryCost: number | null | undefined;
  monthlyPriceCents: number | null | undefined;
  name: string | null | undefined;
  reservedConcurrency: number | null | undefined;
  sla: string | null | undefined;
  slaAvailability: number | null | undefined;
  slaCreditPercent: number | null | undefined;
};

export type PortalWhoQueryVariables = Exact<{ [key: string]: never; }>;


export type PortalWhoQuery = { me: { account: { name: string }, plan: { code: PlanCode }, key: { name: string, role: ApiKeyRole } }, rateLimit: { limit: number, remaining: number, resetAt: string } };

export type UpdateFieldsFragment = { customerId: string, eventId: string, band: RiskBand, score: number | null, eventTime: string, computedAt: string, factors: Array<{ code: string, contribution: number }> | null };

export type PortalRiskFeedSubscriptionVariables = Exact<{
  minBand: RiskBand | null | undefined;
}>;


export type PortalRiskFeedSubscription = { riskScoreUpdated: { customerId: string, eventId: string, band: RiskBand, score: number | null, eventTime: string, computedAt: string, factors: Array<{ code: string, contribution: number }> | null } };

export type PortalRiskPollQueryVariables = Exact<{
  minBand: RiskBand;
}>;


export type PortalRiskPollQuery = { topRisks: Array<{ customerId: string, eventId: string, band: RiskBand, score: number | null, eventTime: string, computedAt: string, factors: Array<{ code: string, contribution: number }> | null }> };

export type ProductFieldsFragment = { id: string, slug: string, name: string, description: string, domain: string, owner: string, version: string, status: DataProductLifecycle, deprecated: boolean, publishedAt: string | null, slo: { availability: number, freshnessSeconds: number, latencyP99Ms: number }, quality: { completeness: number | null, dlqRate: number | null, eventsPerSecond: number | null, freshnessLagP99Ms: number | null, measuredAt: string | null }, accessPolicy: { plans: Array<PlanCode>, fields: Array<{ plan: PlanCode, fields: Array<string> }> }, schema: { graphqlType: string, eventJsonSchema: unknown }, pricing: { addOnMonthlyPriceCents: number | null, unitAmountDecimal: string | null }, viewerAccess: { includedInPlan: boolean, addOn: boolean, readable: boolean } };

export type PortalCatalogQueryVariables = Exact<{
  domain: string | null | undefined;
  includedInPlan: boolean | null | undefined;
  maxFreshnessSeconds: number | null | undefined;
  maxAddOnPriceCents: number | null | undefined;
}>;


export type PortalCatalogQuery = { dataProducts: Array<{ id: string, slug: string, name: string, description: string, domain: string, owner: string, version: string, status: DataProductLifecycle, deprecated: boolean, publishedAt: string | null, slo: { availability: number, freshnessSeconds: number, latencyP99Ms: number }, quality: { completeness: number | null, dlqRate: number | null, eventsPerSecond: number | null, freshnessLagP99Ms: number | null, measuredAt: string | null }, accessPolicy: { plans: Array<PlanCode>, fields: Array<{ plan: PlanCode, fields: Array<string> }> }, schema: { graphqlType: string, eventJsonSchema: unknown }, pricing: { addOnMonthlyPriceCents: number | null, unitAmountDecimal: string | null }, viewerAccess: { includedInPlan: boolean, addOn: boolean, readable: boolean } }> };

export type PortalDomainsQueryVariables = Exact<{ [key: string]: never; }>;


export type PortalDomainsQuery = { dataProducts: Array<{ domain: string }> };

export type PortalAddOnCheckoutMutationVariables = Exact<{
  product: string;
}>;


export type PortalAddOnCheckoutMutation = { createAddOnCheckoutSession: { url: string } };

export type PortalKeysQueryVariables = Exact<{ [key: string]: never; }>;


export type PortalKeysQuery = { me: { key: { id: string }, account: { id: string, apiKeys: Array<{ id: string, name: string, prefix: string, role: ApiKeyRole, createdAt: string, lastUsedAt: string | null, expiresAt: string | null, revokedAt: string | null }> } } };

export type PortalCreateKeyMutationVariables = Exact<{
  accountId: string | number;
  name: string | null | undefined;
  expiresAt: string | null | undefined;
}>;


export type PortalCreateKeyMutation = { createApiKey: { key: string, apiKey: { id: string, name: string, prefix: string } } };

export type PortalRevokeKeyMutationVariables = Exact<{
  id: string | number;
}>;


export type PortalRevokeKeyMutation = { revokeApiKey: { id: string, revokedAt: string | null } };

export type PortalTopRisksQueryVariables = Exact<{ [key: string]: never; }>;


export type PortalTopRisksQuery = { topRisks: Array<{ customerId: string, band: RiskBand, score: number | null, eventTime: string, factors: Array<{ code: string }> | null }> };

export type PortalOverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type PortalOverviewQuery = { me: { account: { id: string, name: string, email: string }, plan: { code: PlanCode, name: string, monthlyPriceCents: number, currency: string, dailyQuota: number, burstPerSecond: number, sla: string | null, slaAvailability: number | null, features: Array<string> }, limits: { dailyQuota: number, burstPerSecond: number, maxQueryCost: number, maxDepth: number }, key: { name: string, prefix: string, role: ApiKeyRole }, subscription: { status: SubscriptionStatus, planCode: PlanCode, currentPeriodEnd: string | null, graceEndsAt: string | null, pastDueSince: string | null, cancelAtPeriodEnd: boolean, trialEnd: string | null } | null }, rateLimit: { plan: PlanCode, limit: number, used: number, remaining: number, resetAt: string, degraded: boolean, burst: { limit: number, remaining: number, resetInMs: number } }, plans: Array<{ code: PlanCode, name: string, monthlyPriceCents: number, currency: string, dailyQuota: number, burstPerSecond: number, sla: string | null, slaAvailability: number | null, features: Array<string> }> };

export type PortalSlaQueryVariables = Exact<{
  month: string;
}>;


export type PortalSlaQuery = { slaReport: { month: string, requests: number, serverErrors: number, availability: number | null, operations: Array<{ operation: string, requests: number, p99Ms: number | null }>, credit: { amountCents: number, currency: string } | null } };

export type PortalUsageQueryVariables = Exact<{
  from: string;
  to: string;
}>;


export type PortalUsageQuery = { usage: Array<{ start: string, end: string, requests: number, costUnits: number, reportedUnits: number, pendingUnits: number }> };

export type PortalCheckoutMutationVariables = Exact<{
  planCode: PlanCode;
}>;


export type PortalCheckoutMutation = { createCheckoutSession: { url: string } };

export type PortalBillingPortalMutationVariables = Exact<{ [key: string]: never; }>;


export type PortalBillingPortalMutation = { createBillingPortalSession: { url: string } };

export type PortalSignInQueryVariables = Exact<{ [key: string]: never; }>;


export type PortalSignInQuery = { me: { key: { role: ApiKeyRole }, account: { name: string } } };

export type PortalPublicPlansQueryVariables = Exact<{ [key: string]: never; }>;


export type PortalPublicPlansQuery = { plans: Array<{ code: PlanCode, name: string, monthlyPriceCents: number, currency: string, dailyQuota: number, burstPerSecond: number, sla: string | null }> };

export type AdminAccountsQueryVariables = Exact<{
  after: string | null | undefined;
}>;


export type AdminAccountsQuery = { accounts: { nodes: Array<{ id: string, name: string, email: string, planCode: PlanCode, createdAt: string, limits: { dailyQuota: number, burstPerSecond: number, maxQueryCost: number, maxDepth: number }, overrides: { dailyQuota: number | null, burstPerSecond: number | null, maxQueryCost: number | null, maxDepth: number | null } }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } }, plans: Array<{ code: PlanCode, name: string }> };

export type AdminSetPlanMutationVariables = Exact<{
  accountId: string | number;
  planCode: PlanCode;
}>;


export type AdminSetPlanMutation = { setAccountPlan: { id: string, planCode: PlanCode } };

export type AdminSetOverridesMutationVariables = Exact<{
  accountId: string | number;
  input: PlanOverridesInput;
}>;


export type AdminSetOverridesMutation = { setAccountOverrides: { id: string, overrides: { dailyQuota: number | null, burstPerSecond: number | null, maxQueryCost: number | null, maxDepth: number | null } } };

export type AdminAuditQueryVariables = Exact<{
  first: number;
  after: string | null | undefined;
}>;


export type AdminAuditQuery = { auditLog: { nodes: Array<{ id: string, at: string, action: string, actorType: string, actorAccountId: string | null, targetType: string, targetId: string | null, before: unknown, after: unknown }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type AdminReconciliationQueryVariables = Exact<{
  from: string;
  to: string;
}>;


export type AdminReconciliationQuery = { billingReconciliation: Array<{ accountId: string, stripeCustomerId: string | null, ledgerUnits: number, reportedUnits: number, pendingUnits: number, failedUnits: number, tooOldUnits: number, stripeUnits: number | null, difference: number, causes: Array<string>, windows: Array<{ windowStart: string, windowEnd: string, reportedUnits: number, stripeUnits: number, cause: string }> }>, meterReports: Array<{ id: string, accountId: string, identifier: string, windowStart: string, units: number, status: string, attempts: number, lastError: string | null }>, quotaAlerts: Array<{ id: string, accountId: string, day: string, threshold: number, quota: number, usedUnits: number, createdAt: string }>, accounts: { nodes: Array<{ id: string, name: string }> } };

export type AdminStripeEventsQueryVariables = Exact<{
  status: StripeEventStatus | null | undefined;
}>;


export type AdminStripeEventsQuery = { stripeEvents: { nodes: Array<{ id: string, type: string, status: StripeEventStatus, attempts: number, error: string | null, objectId: string | null, stripeCreatedAt: string, receivedAt: string, processedAt: string | null }> } };

export type AdminReapplyMutationVariables = Exact<{
  id: string | number;
}>;


export type AdminReapplyMutation = { reapplyStripeEvent: { id: string, status: StripeEventStatus, error: string | null } };

export type AdminPlansQueryVariables = Exact<{ [key: string]: never; }>;


export type AdminPlansQuery = { plans: Array<{ code: PlanCode, name: string, monthlyPriceCents: number, currency: string, dailyQuota: number, burstPerSecond: number, maxQueryCost: number, maxDepth: number, sla: string | null, features: Array<string>, grants: Array<string> }> };

export type AdminUpdatePlanMutationVariables = Exact<{
  code: PlanCode;
  input: UpdatePlanInput;
}>;


export type AdminUpdatePlanMutation = { updatePlan: { code: PlanCode } };

export type AdminProductsQueryVariables = Exact<{ [key: string]: never; }>;


export type AdminProductsQuery = { dataProducts: Array<{ id: string, slug: string, name: string, description: string, domain: string, owner: string, version: string, status: DataProductLifecycle, deprecated: boolean, publishedAt: string | null, slo: { availability: number, freshnessSeconds: number, latencyP99Ms: number }, quality: { completeness: number | null, dlqRate: number | null, eventsPerSecond: number | null, freshnessLagP99Ms: number | null, measuredAt: string | null }, accessPolicy: { plans: Array<PlanCode>, fields: Array<{ plan: PlanCode, fields: Array<string> }> }, schema: { graphqlType: string, eventJsonSchema: unknown }, pricing: { addOnMonthlyPriceCents: number | null, unitAmountDecimal: string | null }, viewerAccess: { includedInPlan: boolean, addOn: boolean, readable: boolean } }> };

export type AdminPublishMutationVariables = Exact<{
  input: DataProductInput;
}>;


export type AdminPublishMutation = { publishDataProduct: { id: string, slug: string, version: string, status: DataProductLifecycle } };

export type AdminDraftMutationVariables = Exact<{
  input: DataProductInput;
}>;


export type AdminDraftMutation = { saveDataProductDraft: { id: string, slug: string, version: string, status: DataProductLifecycle } };

export type AdminDeprecateMutationVariables = Exact<{
  id: string | number;
}>;


export type AdminDeprecateMutation = { deprecateDataProduct: { id: string, status: DataProductLifecycle } };

export type PortalRevenueQueryVariables = Exact<{
  from: string;
  to: string;
}>;


export type PortalRevenueQuery = { productRevenue: { products: Array<{ month: string, product: string, domain: string, requests: number, units: number, meteredUnits: number, revenueCents: number, invoicedCents: number }>, domains: Array<{ month: string, domain: string, requests: number, units: number, meteredUnits: number, revenueCents: number, invoicedCents: number }> } };
