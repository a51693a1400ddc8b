import { CUSTOMER_RISK_SCORES } from '../../src/catalog/customer-risk-scores';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { startTestGateway, type TestGateway } from '../support/harness';
import { planProduct } from './fixtures';

/** Discovery: subscribers list and filter products by domain, SLO, price and whether their plan includes them. */
const LIST = `query($domain: String, $includedInPlan: Boolean, $maxFreshnessSeconds: Float, $minAvailability: Float, $maxAddOnPriceCents: Int) {
  dataProducts(domain: $domain, includedInPlan: $includedInPlan, maxFreshnessSeconds: $maxFreshnessSeconds, minAvailability: $minAvailability, maxAddOnPriceCents: $maxAddOnPriceCents) {
    slug viewerAccess { includedInPlan addOn readable } } }`;

describe('the marketplace', () => {
  let gateway: TestGateway;
  let free: { key: string };

  beforeAll(async () => {
    gateway = await startTestGateway();
    const schema = await buildGatewaySchema();
    const system = { type: 'system:test' } as const;
    // Risk scores leave FREE and sell for $49; merchant offers stay in FREE and sell for $9 too.
    await gateway.services.catalog.publish(
      {
        ...CUSTOMER_RISK_SCORES,
        version: '1.1.0',
        accessPolicy: { plans: ['PROFESSIONAL', 'ENTERPRISE'], fields: CUSTOMER_RISK_SCORES.accessPolicy.fields.filter(({ plan }) => plan !== 'FREE') },
        pricing: { addOnMonthlyPriceCents: 4900 },
      },
      schema,
      system,
    );
    await gateway.services.catalog.publish(
      planProduct({
        slug: 'merchant-offers',
        domain: 'merchant-offers',
        slo: { freshnessSeconds: 3600, availability: 99, latencyP99Ms: 50 },
        pricing: { addOnMonthlyPriceCents: 900 },
      }),
      schema,
      system,
    );
    free = await gateway.newKey({ plan: 'FREE' });
  }, 60_000);
  afterAll(() => gateway?.stop());

  // Other products are seeded beside these two (other domains'): the expectations are about these.
  const OURS = ['merchant-offers', 'customer-risk-scores'];
  const list = async (variables: Record<string, unknown>) => {
    const { body } = await gateway.query(LIST, { key: free.key, variables });
    expect(body.errors).toBeUndefined();
    const products = body.data.dataProducts as Array<{ slug: string; viewerAccess: { includedInPlan: boolean; addOn: boolean; readable: boolean } }>;
    return products.filter((product) => OURS.includes(product.slug));
  };
  const slugs = async (variables: Record<string, unknown>) => (await list(variables)).map((product) => product.slug);

  it('says, per product, whether the caller’s plan includes it', async () => {
    expect(await list({})).toEqual([
      { slug: 'merchant-offers', viewerAccess: { includedInPlan: true, addOn: false, readable: true } },
      { slug: 'customer-risk-scores', viewerAccess: { includedInPlan: false, addOn: false, readable: false } },
    ]);
  });

  it.each([
    [{ includedInPlan: false }, ['customer-risk-scores']],
    [{ includedInPlan: true }, ['merchant-offers']],
    [{ domain: 'merchant-offers' }, ['merchant-offers']],
    [{ maxAddOnPriceCents: 1000 }, ['merchant-offers']],
    [{ maxAddOnPriceCents: 4900 }, ['merchant-offers', 'customer-risk-scores']],
    [{ maxFreshnessSeconds: CUSTOMER_RISK_SCORES.slo.freshnessSeconds }, ['customer-risk-scores']],
    [{ minAvailability: 99.5 }, CUSTOMER_RISK_SCORES.slo.availability >= 99.5 ? ['customer-risk-scores'] : []],
  ])('filters by %j', async (filter, expected) => {
    expect(await slugs(filter)).toEqual(expected);
  });
});
