import { startTestGateway, type TestGateway } from '../support/harness';
import { recordUsage } from '../support/usage';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { planProduct } from './fixtures';

/**
 * Revenue attribution: units, requests and revenue per data product, per owning domain and per
 * month, from the usage ledger and the products' prices, for admins and the products' publishers.
 * Checked against a month of synthetic usage, summed here independently of the gateway.
 */
const RISK = 'customer-risk-scores';
const RISK_METER = 'tollgraph_product_customer_risk_scores';
const QUERY = `query($from: String!, $to: String!) { productRevenue(from: $from, to: $to) {
  products { month product domain requests units meteredUnits revenueCents }
  domains { month domain requests units meteredUnits revenueCents } } }`;

describe('revenue per data product, domain and month', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway();
    // What `stripe setup` leaves on a product with a unit price of 0.25 cent.
    await gateway.services.db.prisma.dataProduct.update({ where: { slug: RISK }, data: { unitAmountDecimal: '0.25', meterEventName: RISK_METER } });
    await gateway.services.catalog.publish(planProduct({ slug: 'merchant-offers', domain: 'merchant' }), await buildGatewaySchema(), { type: 'system:test' });
  }, 60_000);
  afterAll(() => gateway?.stop());

  it('matches the ledger for a month of synthetic usage, for admins; publishers see their domains only', async () => {
    const november = (i: number) => new Date(Date.UTC(2026, 10, 1 + (i % 30), i % 24, i % 60));
    const costs = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 7 + seed) % 11));
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const a = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const b = await gateway.newKey({ plan: 'FREE' });
    const riskAddOn = costs(300, 1);
    const riskPlan = costs(200, 2);
    const merchant = costs(150, 3);
    await recordUsage(gateway, b, riskAddOn, november, { product: RISK, meter: RISK_METER });
    await recordUsage(gateway, a, riskPlan, november, { product: RISK });
    await recordUsage(gateway, a, merchant, november, { product: 'merchant-offers' });
    // Outside the month, or of no product: not in November's figures.
    await recordUsage(gateway, a, costs(40, 4), (i) => new Date(Date.UTC(2026, 11, 1, 0, i)), { product: RISK, meter: RISK_METER });
    await recordUsage(gateway, a, costs(40, 5), november);

    const riskRow = {
      month: '2026-11',
      product: RISK,
      domain: 'risk',
      requests: riskAddOn.length + riskPlan.length,
      units: sum(riskAddOn) + sum(riskPlan),
      meteredUnits: sum(riskAddOn),
      revenueCents: sum(riskAddOn) * 0.25,
    };
    const merchantRow = {
      month: '2026-11',
      product: 'merchant-offers',
      domain: 'merchant',
      requests: merchant.length,
      units: sum(merchant),
      meteredUnits: 0,
      revenueCents: 0,
    };
    const domainOf = ({ product: _product, ...row }: typeof riskRow) => row;

    const admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    const all = await gateway.query(QUERY, { key: admin.key, variables: { from: '2026-11', to: '2026-11' } });
    expect(all.body.errors).toBeUndefined();
    expect(all.body.data.productRevenue).toEqual({ products: [riskRow, merchantRow], domains: [domainOf(riskRow), domainOf(merchantRow)] });

    const publisher = await gateway.newKey({ plan: 'FREE', role: 'PUBLISHER', domains: ['merchant'] });
    const own = await gateway.query(QUERY, { key: publisher.key, variables: { from: '2026-11', to: '2026-12' } });
    expect(own.body.data.productRevenue).toEqual({ products: [merchantRow], domains: [domainOf(merchantRow)] });

    const subscriber = await gateway.query(QUERY, { key: a.key, variables: { from: '2026-11', to: '2026-11' } });
    expect(subscriber.status).toBe(403);
  });
});
