import { CUSTOMER_RISK_SCORES } from '../../src/catalog/customer-risk-scores';
import type { DataProductDefinition } from '../../src/catalog/validation';
import { startTestGateway, type TestGateway } from '../support/harness';
import { planProduct } from './fixtures';

/**
 * Data mesh ownership: a PUBLISHER key publishes, drafts and deprecates the products of its
 * domains only; ADMIN keys every product. Refusals store nothing; every change is audited with
 * the key that made it.
 */
const PUBLISH = 'mutation($input: DataProductInput!) { publishDataProduct(input: $input) { slug version status } }';
const DRAFT = 'mutation($input: DataProductInput!) { saveDataProductDraft(input: $input) { slug status } }';
const DEPRECATE = 'mutation($id: ID!) { deprecateDataProduct(id: $id) { slug status } }';
const CREATE_KEY =
  'mutation($accountId: ID!, $domains: [String!]) { createApiKey(accountId: $accountId, role: PUBLISHER, domains: $domains) { key apiKey { id role domains } } }';

describe('publishers own the products of their domains', () => {
  let gateway: TestGateway;
  let admin: { key: string };
  let merchant: { key: string; keyId: string };
  let risk: { key: string; keyId: string };

  const riskScores = (version: string): DataProductDefinition => ({ ...CUSTOMER_RISK_SCORES, version });
  const product = () => gateway.services.db.prisma.dataProduct.findUniqueOrThrow({ where: { slug: 'customer-risk-scores' } });
  const auditBy = (keyId: string) => gateway.services.db.prisma.auditLog.findMany({ where: { actorKeyId: keyId }, orderBy: { at: 'asc' } });

  /** An ADMIN creates the PUBLISHER key through the API, as an operator would. */
  async function publisherOf(domains: string[]): Promise<{ key: string; keyId: string }> {
    const { accountId } = await gateway.newKey({ plan: 'FREE' });
    const { status, body } = await gateway.query(CREATE_KEY, { key: admin.key, variables: { accountId, domains } });
    expect(status).toBe(200);
    expect(body.data.createApiKey.apiKey).toMatchObject({ role: 'PUBLISHER', domains });
    return { key: body.data.createApiKey.key, keyId: body.data.createApiKey.apiKey.id };
  }

  beforeAll(async () => {
    gateway = await startTestGateway();
    admin = await gateway.newKey({ plan: 'ENTERPRISE', role: 'ADMIN' });
    merchant = await publisherOf(['merchant']);
    risk = await publisherOf(['risk']);
  }, 60_000);
  afterAll(() => gateway?.stop());

  it('a publisher of merchant cannot change, redraft or deprecate a risk product: 403, nothing stored, nothing audited', async () => {
    const before = await product();
    for (const [query, variables] of [
      [PUBLISH, { input: riskScores('1.1.0') }],
      [DEPRECATE, { id: 'customer-risk-scores' }],
      // Nor take a new slug in a domain it does not own.
      [DRAFT, { input: planProduct({ slug: 'risk-lookalike', domain: 'risk' }) }],
    ] as const) {
      const { status, body } = await gateway.query(query, { key: merchant.key, variables });
      expect(status).toBe(403);
      expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', domain: 'risk' } });
    }
    expect(await product()).toEqual(before);
    expect(await gateway.services.db.prisma.dataProduct.findUnique({ where: { slug: 'risk-lookalike' } })).toBeNull();
    expect(await auditBy(merchant.keyId)).toEqual([]);
  });

  it('a publisher of risk publishes and deprecates the risk product, and each action is audited with its key', async () => {
    const published = await gateway.query(PUBLISH, { key: risk.key, variables: { input: riskScores('1.1.0') } });
    expect(published.body.errors).toBeUndefined();
    expect(published.body.data.publishDataProduct).toEqual({ slug: 'customer-risk-scores', version: '1.1.0', status: 'PUBLISHED' });
    const deprecated = await gateway.query(DEPRECATE, { key: risk.key, variables: { id: 'customer-risk-scores' } });
    expect(deprecated.body.data.deprecateDataProduct.status).toBe('DEPRECATED');
    expect((await auditBy(risk.keyId)).map((entry) => [entry.action, entry.targetId])).toEqual([
      ['dataProduct.publish', (await product()).id],
      ['dataProduct.deprecate', (await product()).id],
    ]);
  });

  it('a publisher sees the drafts of its domains only', async () => {
    const saved = await gateway.query(DRAFT, { key: risk.key, variables: { input: planProduct({ slug: 'risk-draft', domain: 'risk' }) } });
    expect(saved.body.data.saveDataProductDraft).toEqual({ slug: 'risk-draft', status: 'DRAFT' });
    const seenBy = async (key: string) =>
      (await gateway.query('{ dataProducts { slug } }', { key })).body.data.dataProducts.map((p: { slug: string }) => p.slug);
    expect(await seenBy(risk.key)).toContain('risk-draft');
    expect(await seenBy(admin.key)).toContain('risk-draft');
    expect(await seenBy(merchant.key)).not.toContain('risk-draft');
  });

  it('a publisher of merchant publishes in its own domain', async () => {
    const { body } = await gateway.query(PUBLISH, { key: merchant.key, variables: { input: planProduct({ slug: 'merchant-offers', domain: 'merchant' }) } });
    expect(body.data.publishDataProduct).toMatchObject({ slug: 'merchant-offers', status: 'PUBLISHED' });
  });

  it('an admin changes any product', async () => {
    const { body } = await gateway.query(PUBLISH, { key: admin.key, variables: { input: riskScores('1.2.0') } });
    expect(body.data.publishDataProduct).toMatchObject({ version: '1.2.0', status: 'PUBLISHED' });
  });

  it('subscribers do not publish, and only admins make publisher keys', async () => {
    const subscriber = await gateway.newKey({ plan: 'ENTERPRISE' });
    const refused = await gateway.query(PUBLISH, { key: subscriber.key, variables: { input: riskScores('9.0.0') } });
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const escalation = await gateway.query(CREATE_KEY, { key: subscriber.key, variables: { accountId: subscriber.accountId, domains: ['risk'] } });
    expect(escalation.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const noDomain = await gateway.query(CREATE_KEY, { key: admin.key, variables: { accountId: subscriber.accountId, domains: [] } });
    expect(noDomain.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: ['domains'] });
  });
});
