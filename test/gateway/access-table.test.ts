import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, getOperationAST, parse, validate, type FieldNode, type GraphQLObjectType } from 'graphql';
import type { ApiKeyRole, PlanCode } from '../../src/generated/prisma/enums';
import { CUSTOMER_RISK_SCORES } from '../../src/catalog/customer-risk-scores';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { PRODUCT_OUTPUTS } from '../../src/risk/operators/product-outputs';
import { encodeViews, SCORES_CHANNEL, type RiskScoreView } from '../../src/risk/view';
import { mapConcurrently, observe, overHttp, overWebSocket, type Observed, type Outcome, type Transport } from '../support/access-probe';
import { startTestGateway, type TestGateway } from '../support/harness';

/**
 * Who may call each root field, over which transport: one hand-written table, checked against
 * a running gateway for every caller. Written down from the resolvers and README.md, never read
 * from the schema's own extensions, so a guard that drifts from it fails here.
 */

type Root = 'Query' | 'Mutation' | 'Subscription';
type Level = 'public' | 'subscriber' | 'publisher' | 'admin';
type Product = 'customer-risk-scores' | 'customer-spend-features' | 'merchant-risk';
type Grant =
  | 'risk.band'
  | 'risk.score'
  | 'risk.factors'
  | 'risk.history'
  | 'risk.live'
  | 'risk.bulk'
  | 'risk.replay-history'
  | 'catalog.read'
  | 'analytics.read';

interface Row {
  level: Level;
  /** The plan capability the field itself needs (not its sub-fields). */
  grant?: Grant;
  /** The data product the field serves: a plan of the product's policy (or its add-on) reads it. */
  product?: Product;
  /**
   * The field alone, with a small selection that needs no grant of its own. Mutations are
   * harmless when admitted: they name nothing that exists, or carry input the resolver rejects.
   */
  operation: string;
}

const NO_SUCH_ID = randomUUID();
const DAY = 'from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z"';
const INVALID_PRODUCT = `{ slug: "Not A Slug", name: "", description: "", domain: "", owner: "", version: "x", graphqlType: "NoSuchType", eventSchema: {},
  slo: { availability: 0, freshnessSeconds: 0, latencyP99Ms: 0 }, accessPolicy: { plans: [], fields: [] } }`;

const TABLE: Record<Root, Record<string, Row>> = {
  Query: {
    account: { level: 'subscriber', operation: `{ account(id: "${NO_SUCH_ID}") { id } }` },
    accountSlaReport: { level: 'admin', operation: `{ accountSlaReport(accountId: "${NO_SUCH_ID}", month: "2026-01") { requests } }` },
    accountUsage: { level: 'admin', operation: `{ accountUsage(accountId: "${NO_SUCH_ID}", ${DAY}) { costUnits } }` },
    accounts: { level: 'admin', operation: '{ accounts(first: 1) { nodes { id } } }' },
    auditLog: { level: 'admin', operation: '{ auditLog(first: 1) { nodes { id } } }' },
    // from after to: refused by the resolver before it asks Stripe anything.
    billingReconciliation: { level: 'admin', operation: '{ billingReconciliation(from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z") { accountId } }' },
    // Admitted, they answer SERVICE_UNAVAILABLE: the test gateway has no analytics worker (ANALYTICS_URL).
    fraudRates: { level: 'subscriber', grant: 'analytics.read', operation: `{ fraudRates(${DAY}, first: 1) { truncated } }` },
    customerSpendFeatures: {
      level: 'subscriber',
      product: 'customer-spend-features',
      operation: '{ customerSpendFeatures(customerIds: ["c-no-such"]) { customerId } }',
    },
    dataProduct: { level: 'subscriber', grant: 'catalog.read', operation: '{ dataProduct(id: "no-such-product") { id } }' },
    dataProducts: { level: 'subscriber', grant: 'catalog.read', operation: '{ dataProducts { slug } }' },
    health: { level: 'public', operation: '{ health { status } }' },
    me: { level: 'subscriber', operation: '{ me { key { id } } }' },
    merchantRisk: { level: 'subscriber', product: 'merchant-risk', operation: '{ merchantRisk(merchantIds: ["m-no-such"]) { merchantId } }' },
    meterReports: { level: 'admin', operation: '{ meterReports { id } }' },
    plans: { level: 'public', operation: '{ plans { code } }' },
    productRevenue: { level: 'publisher', operation: '{ productRevenue(from: "2026-01", to: "2026-01") { products { product } } }' },
    quotaAlerts: { level: 'admin', operation: '{ quotaAlerts { id } }' },
    rateLimit: { level: 'subscriber', operation: '{ rateLimit { remaining } }' },
    riskHistory: {
      level: 'subscriber',
      product: 'customer-risk-scores',
      grant: 'risk.history',
      operation: '{ riskHistory(customerId: "c-no-such", first: 1) { nodes { band } } }',
    },
    riskScore: { level: 'subscriber', product: 'customer-risk-scores', operation: '{ riskScore(customerId: "c-no-such") { band } }' },
    riskScores: { level: 'subscriber', product: 'customer-risk-scores', operation: '{ riskScores(customerIds: ["c-no-such"]) { band } }' },
    scoreBands: { level: 'subscriber', grant: 'analytics.read', operation: `{ scoreBands(${DAY}, first: 1) { truncated } }` },
    slaReport: { level: 'subscriber', operation: '{ slaReport(month: "2026-01") { requests } }' },
    stripeEvents: { level: 'admin', operation: '{ stripeEvents(first: 1) { nodes { id } } }' },
    topRisks: { level: 'subscriber', product: 'customer-risk-scores', operation: '{ topRisks(first: 1) { band } }' },
    transactionRisk: { level: 'subscriber', product: 'customer-risk-scores', operation: `{ transactionRisk(eventId: "${NO_SUCH_ID}") { eventId } }` },
    usageByAccount: { level: 'admin', operation: `{ usageByAccount(${DAY}, first: 1) { truncated } }` },
    usage: { level: 'subscriber', operation: `{ usage(${DAY}) { costUnits } }` },
  },
  Mutation: {
    createAccount: { level: 'admin', operation: 'mutation { createAccount(input: { name: "", email: "not-an-email" }) { id } }' },
    createApiKey: { level: 'subscriber', operation: `mutation { createApiKey(accountId: "${NO_SUCH_ID}") { key } }` },
    // Admitted, it fails in the resolver: the test gateway has no Stripe, the account no customer.
    createBillingPortalSession: { level: 'subscriber', operation: 'mutation { createBillingPortalSession { url } }' },
    createCheckoutSession: { level: 'subscriber', operation: 'mutation { createCheckoutSession(planCode: FREE) { url } }' },
    createAddOnCheckoutSession: { level: 'subscriber', operation: 'mutation { createAddOnCheckoutSession(product: "no-such-product") { url } }' },
    deprecateDataProduct: { level: 'publisher', operation: 'mutation { deprecateDataProduct(id: "no-such-product") { id } }' },
    publishDataProduct: { level: 'publisher', operation: `mutation { publishDataProduct(input: ${INVALID_PRODUCT}) { id } }` },
    reapplyStripeEvent: { level: 'admin', operation: 'mutation { reapplyStripeEvent(id: "not-an-event") { id } }' },
    revokeApiKey: { level: 'subscriber', operation: `mutation { revokeApiKey(id: "${NO_SUCH_ID}") { id } }` },
    saveDataProductDraft: { level: 'publisher', operation: `mutation { saveDataProductDraft(input: ${INVALID_PRODUCT}) { id } }` },
    setAccountOverrides: { level: 'admin', operation: `mutation { setAccountOverrides(accountId: "${NO_SUCH_ID}", input: { dailyQuota: 1 }) { id } }` },
    setAccountPlan: { level: 'admin', operation: `mutation { setAccountPlan(accountId: "${NO_SUCH_ID}", planCode: ENTERPRISE) { id } }` },
    updatePlan: { level: 'admin', operation: 'mutation { updatePlan(code: FREE, input: { burstPerSecond: -1 }) { code } }' },
  },
  Subscription: {
    // Each probe listens to a key of its own, so only its own published update answers it.
    customerSpendFeaturesUpdated: {
      level: 'subscriber',
      product: 'customer-spend-features',
      grant: 'risk.live',
      operation: 'subscription($customerId: ID!) { customerSpendFeaturesUpdated(customerIds: [$customerId]) { customerId } }',
    },
    merchantRiskUpdated: {
      level: 'subscriber',
      product: 'merchant-risk',
      grant: 'risk.live',
      operation: 'subscription($customerId: ID!) { merchantRiskUpdated(merchantIds: [$customerId]) { merchantId } }',
    },
    riskScoreUpdated: {
      level: 'subscriber',
      product: 'customer-risk-scores',
      grant: 'risk.live',
      operation: 'subscription($customerId: ID!) { riskScoreUpdated(customerIds: [$customerId]) { customerId band } }',
    },
  },
};

const FREE_GRANTS: Grant[] = ['risk.band', 'catalog.read'];
const PROFESSIONAL_GRANTS: Grant[] = [...FREE_GRANTS, 'risk.score', 'risk.factors', 'risk.history', 'risk.live', 'analytics.read'];
const PLAN_GRANTS: Record<PlanCode, Grant[]> = {
  FREE: FREE_GRANTS,
  PROFESSIONAL: PROFESSIONAL_GRANTS,
  ENTERPRISE: [...PROFESSIONAL_GRANTS, 'risk.bulk', 'risk.replay-history'],
};

/**
 * The products' policies in this test: customer-risk-scores is republished without FREE (beforeAll),
 * so product fields are refused to a plan outside the policy whatever its grants.
 */
const PRODUCT_PLANS: Record<Product, PlanCode[]> = {
  'customer-risk-scores': ['PROFESSIONAL', 'ENTERPRISE'],
  // As seeded (src/catalog/operator-products.ts).
  'customer-spend-features': ['PROFESSIONAL', 'ENTERPRISE'],
  'merchant-risk': ['PROFESSIONAL', 'ENTERPRISE'],
};

type Caller = 'no key' | 'FREE' | 'PROFESSIONAL' | 'ENTERPRISE' | 'PUBLISHER' | 'ADMIN' | 'revoked';
type KeyedCaller = Exclude<Caller, 'no key'>;
const CALLERS: Caller[] = ['no key', 'FREE', 'PROFESSIONAL', 'ENTERPRISE', 'PUBLISHER', 'ADMIN', 'revoked'];
// ADMIN on ENTERPRISE so no grant stands between it and any field; the revoked key was the most powerful one.
// The PUBLISHER's account is on FREE: publishing its domain does not make it a reader of the products.
const KEYS: Record<KeyedCaller, { plan: PlanCode; role: ApiKeyRole; domains?: string[] }> = {
  FREE: { plan: 'FREE', role: 'SUBSCRIBER' },
  PROFESSIONAL: { plan: 'PROFESSIONAL', role: 'SUBSCRIBER' },
  ENTERPRISE: { plan: 'ENTERPRISE', role: 'SUBSCRIBER' },
  PUBLISHER: { plan: 'FREE', role: 'PUBLISHER', domains: ['risk'] },
  ADMIN: { plan: 'ENTERPRISE', role: 'ADMIN' },
  revoked: { plan: 'ENTERPRISE', role: 'ADMIN' },
};
const TRANSPORTS: Transport[] = ['POST', 'GET', 'WS'];
const ROOTS: Root[] = ['Query', 'Mutation', 'Subscription'];

/** HTTP runs queries (and mutations over POST); graphql-ws runs subscriptions only. */
function carries(transport: Transport, root: Root): boolean {
  if (transport === 'WS') return root === 'Subscription';
  return root === 'Query' || (transport === 'POST' && root === 'Mutation');
}

function accessOutcome(row: Row, caller: Caller): Outcome {
  if (row.level === 'public') return 'ADMITTED';
  if (caller === 'no key') return 'UNAUTHENTICATED';
  const { plan, role } = KEYS[caller as KeyedCaller];
  if (row.level === 'admin' && role !== 'ADMIN') return 'FORBIDDEN';
  if (row.level === 'publisher' && role !== 'ADMIN' && role !== 'PUBLISHER') return 'FORBIDDEN';
  if (row.product && role !== 'ADMIN' && !PRODUCT_PLANS[row.product].includes(plan)) return 'FORBIDDEN';
  if (row.grant && !PLAN_GRANTS[plan].includes(row.grant)) return 'GRANT_FORBIDDEN';
  return 'ADMITTED';
}

/** The outcomes the contract allows; more than one only where it leaves the order of two checks open. */
function expectedOutcomes(root: Root, row: Row, transport: Transport, caller: Caller): Outcome[] {
  if (caller === 'revoked') return ['UNAUTHENTICATED'];
  // graphql-ws refuses the connection itself without a valid key, before any operation.
  if (transport === 'WS' && caller === 'no key') return ['UNAUTHENTICATED'];
  if (!carries(transport, root)) return caller === 'no key' ? ['UNAUTHENTICATED', 'WRONG_TRANSPORT'] : ['WRONG_TRANSPORT'];
  return [accessOutcome(row, caller)];
}

const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));
const rootType = (root: Root): GraphQLObjectType | null | undefined =>
  ({ Query: schema.getQueryType(), Mutation: schema.getMutationType(), Subscription: schema.getSubscriptionType() })[root];
const rows = ROOTS.flatMap((root) => Object.entries(TABLE[root]).map(([field, row]) => ({ name: `${root}.${field}`, root, field, row })));

describe('the access table', () => {
  it.each(ROOTS)('has one row for every %s field of schema.graphql, and no other', (root) => {
    expect(Object.keys(TABLE[root]).sort()).toEqual(Object.keys(rootType(root)?.getFields() ?? {}).sort());
  });

  it.each(rows)("$name: the row's operation is valid and selects that field alone", ({ root, field, row }) => {
    const document = parse(row.operation);
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
    const operation = getOperationAST(document);
    expect(operation?.operation).toBe(root.toLowerCase());
    expect(operation?.selectionSet.selections.map((selection) => (selection as FieldNode).name.value)).toEqual([field]);
  });
});

describe('access to every root field, by transport and caller', () => {
  let gateway: TestGateway;
  const observed = new Map<string, Observed>();
  const probeId = (field: string, transport: Transport, caller: Caller) => `${field} ${transport} ${caller}`;

  beforeAll(async () => {
    // The revoked key's calls count as failed authentications of 127.0.0.1, which would soon
    // block the address for every caller; anonymous calls are limited per address too.
    gateway = await startTestGateway({ ANONYMOUS_REQUESTS_PER_MINUTE: '100000', AUTH_FAILURES_PER_MINUTE: '100000' });
    const { fields } = CUSTOMER_RISK_SCORES.accessPolicy;
    await gateway.services.catalog.publish(
      {
        ...CUSTOMER_RISK_SCORES,
        version: '1.1.0',
        accessPolicy: {
          plans: PRODUCT_PLANS['customer-risk-scores'],
          fields: fields.filter(({ plan }) => PRODUCT_PLANS['customer-risk-scores'].includes(plan as PlanCode)),
        },
      },
      await buildGatewaySchema(),
      { type: 'system:test' },
    );
    // A key of its own per transport, so one caller's burst is not spent by another transport's calls.
    const keys = new Map<string, string>();
    for (const transport of TRANSPORTS) {
      for (const caller of Object.keys(KEYS) as KeyedCaller[]) {
        const { key, keyId } = await gateway.newKey(KEYS[caller]);
        if (caller === 'revoked') await gateway.services.keys.revoke(keyId, { type: 'system:test' });
        keys.set(`${transport} ${caller}`, key);
      }
    }

    const probes = rows.flatMap(({ field, row }) => TRANSPORTS.flatMap((transport) => CALLERS.map((caller) => ({ field, row, transport, caller }))));
    await mapConcurrently(probes, 12, async ({ field, row, transport, caller }) => {
      const customerId = `c-access-${randomUUID()}`;
      const call = { url: gateway.url, key: keys.get(`${transport} ${caller}`), query: row.operation, variables: { customerId } };
      // An admitted subscription is silent until a score (or an operator's update) comes: publish until one arrives.
      const publishScore = () =>
        Promise.all([
          gateway.services.pubsub.publish(SCORES_CHANNEL, encodeViews([scoreOf(customerId)])),
          ...Object.values(PRODUCT_OUTPUTS).map(({ channel }) => gateway.services.pubsub.publish(channel, JSON.stringify([operatorViewOf(customerId)]))),
        ]);
      const outcome = await observe(() => (transport === 'WS' ? overWebSocket(call, publishScore) : overHttp(transport, call)));
      observed.set(probeId(field, transport, caller), outcome);
    });
  }, 90_000);
  afterAll(() => gateway?.stop());

  it('derives its expectations from the grants the plans are seeded with', async () => {
    const plans = await gateway.services.plans.list();
    expect(Object.fromEntries(plans.map((plan) => [plan.code, [...plan.grants].sort()]))).toEqual(
      Object.fromEntries(Object.entries(PLAN_GRANTS).map(([code, grants]) => [code, [...grants].sort()])),
    );
  });

  const cases = rows.flatMap(({ name, root, field, row }) => TRANSPORTS.map((transport) => ({ name, root, field, row, transport })));
  it.each(cases)('$name over $transport', ({ root, field, row, transport }) => {
    const actual: Record<string, Observed | undefined> = {};
    const expected: Record<string, string> = {};
    for (const caller of CALLERS) {
      const outcome = observed.get(probeId(field, transport, caller));
      const allowed: Observed[] = expectedOutcomes(root, row, transport, caller);
      actual[caller] = outcome;
      // Where two outcomes are allowed, show the one seen, so the diff lists only real mismatches.
      expected[caller] = outcome && allowed.includes(outcome) ? outcome : allowed.join(' or ');
    }
    expect(actual).toEqual(expected);
  });

  describe('an operation sent over graphql-ws that it must not run changes nothing', () => {
    const prisma = () => gateway.services.db.prisma;
    const overWs = (key: string, query: string) => overWebSocket({ url: gateway.url, key, query, variables: {} });

    it('a FREE key cannot move its own account to ENTERPRISE', async () => {
      const { key, accountId } = await gateway.newKey({ plan: 'FREE' });
      const outcome = await overWs(key, `mutation { setAccountPlan(accountId: "${accountId}", planCode: ENTERPRISE) { id } }`);
      expect((await prisma().account.findUniqueOrThrow({ where: { id: accountId } })).planCode).toBe('FREE');
      expect(outcome).toBe('WRONG_TRANSPORT');
    });

    it('a FREE key cannot edit the FREE plan', async () => {
      const { key } = await gateway.newKey({ plan: 'FREE' });
      const before = await prisma().plan.findUniqueOrThrow({ where: { code: 'FREE' } });
      const outcome = await overWs(key, 'mutation { updatePlan(code: FREE, input: { name: "Hijacked", dailyQuota: 1000000000 }) { code } }');
      expect(await prisma().plan.findUniqueOrThrow({ where: { code: 'FREE' } })).toEqual(before);
      expect(outcome).toBe('WRONG_TRANSPORT');
    });
  });
});

/** An update of either operator product for `key` (a customer or a merchant). */
function operatorViewOf(key: string) {
  return { key, version: 1, customerId: key, merchantId: key, asOf: new Date().toISOString(), windows: [] };
}

function scoreOf(customerId: string): RiskScoreView {
  const now = new Date().toISOString();
  return { customerId, eventId: randomUUID(), score: 100, band: 'LOW', factors: [], eventTime: now, computedAt: now, modelVersion: 'test' };
}
