import { recordQuality } from '../../src/catalog/quality';
import { seedDataProducts } from '../../src/catalog/seed';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { startTestGateway, type TestGateway } from '../support/harness';
import { planProduct } from './fixtures';
import type { DataProductDefinition } from '../../src/catalog/validation';

const PRODUCT = `
  id slug name domain owner description version status deprecated publishedAt deprecatedAt qualityUpdatedAt
  schema { graphqlType eventJsonSchema }
  slo { freshnessSeconds availability latencyP99Ms }
  quality { freshnessLagP99Ms eventsPerSecond dlqRate completeness measuredAt }
  accessPolicy { plans fields { plan fields } }`;
const LIST = `query($domain: String) { dataProducts(domain: $domain) { ${PRODUCT} } }`;
const ONE = `query($id: ID!) { dataProduct(id: $id) { ${PRODUCT} } }`;
const PUBLISH = `mutation($input: DataProductInput!) { publishDataProduct(input: $input) { ${PRODUCT} } }`;
const DRAFT = `mutation($input: DataProductInput!) { saveDataProductDraft(input: $input) { ${PRODUCT} } }`;
const DEPRECATE = `mutation($id: ID!) { deprecateDataProduct(id: $id) { ${PRODUCT} } }`;
const AUDIT = `{ auditLog(first: 200) { nodes { action targetType targetId actorKeyId before after requestId } } }`;

describe('data-product catalog against real Postgres', () => {
  let gateway: TestGateway;
  let admin: { key: string; keyId: string };
  // PROFESSIONAL so that many reads in quick succession stay under the plan's burst limit.
  let subscriber: string;
  let freeSubscriber: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    admin = await gateway.newKey({ role: 'ADMIN', plan: 'ENTERPRISE' });
    subscriber = (await gateway.newKey({ plan: 'PROFESSIONAL' })).key;
    freeSubscriber = (await gateway.newKey({ plan: 'FREE' })).key;
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  const publish = (definition: DataProductDefinition, key = admin.key) => gateway.query(PUBLISH, { key, variables: { input: definition } });
  const listed = async (key: string, domain?: string) =>
    (await gateway.query(LIST, { key, variables: { domain } })).body.data.dataProducts as Array<Record<string, any>>;
  const slugs = async (key: string, domain?: string) => (await listed(key, domain)).map((product) => product.slug);
  const auditFor = async (targetId: string) =>
    ((await gateway.query(AUDIT, { key: admin.key })).body.data.auditLog.nodes as Array<Record<string, any>>).filter((entry) => entry.targetId === targetId);
  const counts = async () => ({
    products: await gateway.services.db.prisma.dataProduct.count(),
    audit: await gateway.services.db.prisma.auditLog.count(),
  });

  /** A refused publication: HTTP 400, BAD_USER_INPUT, and not a row or audit entry written. */
  async function expectRejected(definition: DataProductDefinition, ...messages: Array<string | RegExp>) {
    const before = await counts();
    const { status, body } = await publish(definition);
    expect(body.data ?? null).toBeNull(); // absent when the variables were refused before execution
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    // A resolver's refusal is 400; variables refused before execution are a GraphQL request error,
    // which GraphQL over HTTP answers with 200 for application/json (docs/contract.md).
    expect(status).toBe(body.errors![0].path ? 400 : 200);
    for (const message of messages) expect(body.errors![0].message).toMatch(message);
    expect(await counts()).toEqual(before);
    return body.errors![0];
  }

  it('lists the seeded customer-risk-scores product to any subscriber, by slug and by id', async () => {
    const products = await listed(subscriber);
    const seeded = products.find((product) => product.slug === 'customer-risk-scores');
    expect(seeded).toEqual(
      expect.objectContaining({
        domain: 'risk',
        owner: 'risk-platform@tollgraph.local',
        version: '1.0.0',
        status: 'PUBLISHED',
        deprecated: false,
        publishedAt: expect.any(String),
        schema: {
          graphqlType: 'RiskScore',
          eventJsonSchema: expect.objectContaining({ type: 'object', required: expect.arrayContaining(['eventId', 'amount', 'channel']) }),
        },
        slo: { freshnessSeconds: 1, availability: 99.9, latencyP99Ms: 150 },
        quality: { freshnessLagP99Ms: null, eventsPerSecond: null, dlqRate: null, completeness: null, measuredAt: null },
      }),
    );
    expect(seeded!.accessPolicy.plans).toEqual(['FREE', 'PROFESSIONAL', 'ENTERPRISE']);
    expect(seeded!.accessPolicy.fields[0]).toEqual({
      plan: 'FREE',
      fields: expect.arrayContaining(['band', 'customerId', 'eventTime', 'computedAt', 'freshnessSeconds']),
    });
    expect(seeded!.accessPolicy.fields[0].fields).not.toContain('score');
    expect(seeded!.accessPolicy.fields[1].fields).toEqual(expect.arrayContaining(['band', 'score', 'factors']));
    expect(await slugs(subscriber, 'risk')).toEqual(['customer-risk-scores']);

    const bySlug = (await gateway.query(ONE, { key: subscriber, variables: { id: 'customer-risk-scores' } })).body.data.dataProduct;
    const byId = (await gateway.query(ONE, { key: subscriber, variables: { id: seeded!.id } })).body.data.dataProduct;
    expect(bySlug).toEqual(seeded);
    expect(byId).toEqual(seeded);
    const missing = (await gateway.query(ONE, { key: subscriber, variables: { id: 'no-such-product' } })).body;
    expect(missing.data).toEqual({ dataProduct: null });
    expect(missing.errors).toBeUndefined();
  });

  it('is readable on every plan, and only with a key', async () => {
    const free = await gateway.query('{ dataProducts { slug status } }', { key: freeSubscriber });
    expect(free.status).toBe(200);
    expect(free.body.data.dataProducts).toContainEqual({ slug: 'customer-risk-scores', status: 'PUBLISHED' });
    expect((await gateway.query(LIST)).status).toBe(401);
  });

  it('seeds idempotently, leaving an admin’s changes alone', async () => {
    const before = await gateway.services.db.prisma.dataProduct.findUniqueOrThrow({ where: { slug: 'customer-risk-scores' } });
    await seedDataProducts(gateway.services.db.prisma);
    expect(await gateway.services.db.prisma.dataProduct.findMany({ where: { slug: 'customer-risk-scores' } })).toEqual([before]);
  });

  it('rejects an event schema that is not valid JSON Schema with ajv’s message, writing nothing', async () => {
    const error = await expectRejected(
      planProduct({ slug: 'bad-event-schema', eventSchema: { type: 'object', properties: { amount: { type: 'decimal' } } } }),
      'Invalid data product: eventSchema is not a valid JSON Schema (draft 2020-12): eventSchema/properties/amount/type must be equal to one of the allowed values',
    );
    expect(error.extensions.fields).toEqual(['eventSchema']);
    await expectRejected(
      planProduct({ slug: 'bad-event-schema', eventSchema: { type: 'object', requried: ['a'] } }),
      'strict mode: unknown keyword: "requried"',
    );
    expect(await slugs(admin.key)).not.toContain('bad-event-schema');
  });

  it('rejects a graphqlType that is not an object type of the running API', async () => {
    await expectRejected(planProduct({ slug: 'no-such-type', graphqlType: 'Spaceship' }), 'graphqlType "Spaceship" is not a type of this API');
    await expectRejected(planProduct({ slug: 'no-such-type', graphqlType: 'PlanCode' }), 'graphqlType "PlanCode" is an enum, not an object type');
  });

  it('rejects a policy naming a field the type lacks, a plan it does not list, or an unknown plan', async () => {
    await expectRejected(
      planProduct({ slug: 'bad-policy', accessPolicy: { plans: ['FREE'], fields: [{ plan: 'FREE', fields: ['code', 'secretSauce'] }] } }),
      'accessPolicy.fields.FREE names fields that Plan does not have: "secretSauce"',
    );
    await expectRejected(
      planProduct({
        slug: 'bad-policy',
        accessPolicy: {
          plans: ['FREE'],
          fields: [
            { plan: 'FREE', fields: ['code'] },
            { plan: 'ENTERPRISE', fields: ['code'] },
          ],
        },
      }),
      'accessPolicy.fields names plan "ENTERPRISE", which is not in accessPolicy.plans',
    );
    // The API's PlanCode enum refuses an unknown plan before the resolver runs...
    await expectRejected(
      planProduct({ slug: 'bad-policy', accessPolicy: { plans: ['FREE', 'GOLD'], fields: [{ plan: 'FREE', fields: ['code'] }] } }),
      /"GOLD" does not exist in "PlanCode"/,
    );
    // ...and the catalog checks the plan catalogue for callers that bypass GraphQL.
    await expect(
      gateway.services.catalog.publish(
        planProduct({ slug: 'bad-policy', accessPolicy: { plans: ['GOLD'], fields: [{ plan: 'GOLD', fields: ['code'] }] } }),
        await buildGatewaySchema(),
        { type: 'system:test' },
      ),
    ).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
      message: expect.stringContaining('accessPolicy.plans names unknown plans "GOLD"'),
    });
  });

  it('names every problem of an invalid product in one error', async () => {
    const error = await expectRejected(
      planProduct({ slug: 'Bad Slug', graphqlType: 'Nope', slo: { freshnessSeconds: -1, availability: 0, latencyP99Ms: 100 }, version: '1.0' }),
      /slug must be lowercase/,
      /graphqlType "Nope" is not a type of this API/,
      /slo.freshnessSeconds must be greater than 0/,
      /slo.availability must be a percentage greater than 0/,
      /version must be a semantic version/,
    );
    expect(error.extensions.fields).toEqual(['slug', 'slo.freshnessSeconds', 'slo.availability', 'version', 'graphqlType']);
  });

  it('publishes a valid product: listed to subscribers, by domain, and audited with the admin key and request id', async () => {
    const { status, body } = await publish(planProduct({ slug: 'plan-offers', domain: 'commerce' }));
    expect(status).toBe(200);
    const product = body.data.publishDataProduct;
    expect(product).toEqual(
      expect.objectContaining({
        slug: 'plan-offers',
        status: 'PUBLISHED',
        deprecated: false,
        version: '1.0.0',
        schema: { graphqlType: 'Plan', eventJsonSchema: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] } },
        accessPolicy: {
          plans: ['FREE', 'PROFESSIONAL'],
          fields: [
            { plan: 'FREE', fields: ['code', 'name'] },
            { plan: 'PROFESSIONAL', fields: ['code', 'name', 'dailyQuota'] },
          ],
        },
      }),
    );
    expect(await listed(subscriber)).toContainEqual(product);
    expect(await slugs(subscriber, 'commerce')).toEqual(['plan-offers']);

    const [entry] = await auditFor(product.id);
    expect(entry).toEqual({
      action: 'dataProduct.publish',
      targetType: 'DataProduct',
      targetId: product.id,
      actorKeyId: admin.keyId,
      before: null,
      after: expect.objectContaining({ slug: 'plan-offers', version: '1.0.0', status: 'PUBLISHED' }),
      requestId: expect.any(String),
    });
  });

  it('refuses publish and deprecate to a subscriber key with 403', async () => {
    const before = await counts();
    const refused = await publish(planProduct({ slug: 'by-a-subscriber' }), subscriber);
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const deprecate = await gateway.query(DEPRECATE, { key: subscriber, variables: { id: 'customer-risk-scores' } });
    expect(deprecate.status).toBe(403);
    expect(await counts()).toEqual(before);
  });

  it('publishes a new version of an existing slug only when the version is higher', async () => {
    const first = (await publish(planProduct({ slug: 'versioned', version: '1.2.0' }))).body.data.publishDataProduct;
    await expectRejected(planProduct({ slug: 'versioned', version: '1.2.0' }), 'version 1.2.0 of versioned must be higher than the published version 1.2.0');
    await expectRejected(planProduct({ slug: 'versioned', version: '1.1.9' }), 'version 1.1.9 of versioned must be higher than the published version 1.2.0');
    await expectRejected(planProduct({ slug: 'versioned', version: '1.2.0-rc.1' }), /must be higher/);

    const { body } = await publish(planProduct({ slug: 'versioned', version: '1.3.0', name: 'Versioned, improved' }));
    const second = body.data.publishDataProduct;
    expect(second).toEqual(expect.objectContaining({ id: first.id, version: '1.3.0', name: 'Versioned, improved', status: 'PUBLISHED' }));
    expect(new Date(second.publishedAt).getTime()).toBeGreaterThanOrEqual(new Date(first.publishedAt).getTime());
    const entries = await auditFor(first.id);
    expect(entries.map((entry) => [entry.action, entry.before?.version ?? null, entry.after.version])).toEqual([
      ['dataProduct.publish', '1.2.0', '1.3.0'],
      ['dataProduct.publish', null, '1.2.0'],
    ]);
  });

  it('keeps DRAFTs from subscribers; admins see them and can publish them', async () => {
    const draft = (await gateway.query(DRAFT, { key: admin.key, variables: { input: planProduct({ slug: 'coming-soon', domain: 'labs', version: '0.1.0' }) } }))
      .body.data.saveDataProductDraft;
    expect(draft).toEqual(expect.objectContaining({ status: 'DRAFT', publishedAt: null }));

    expect(await slugs(subscriber)).not.toContain('coming-soon');
    expect(await slugs(subscriber, 'labs')).toEqual([]);
    expect((await gateway.query(ONE, { key: subscriber, variables: { id: draft.id } })).body.data.dataProduct).toBeNull();
    expect((await gateway.query(ONE, { key: subscriber, variables: { id: 'coming-soon' } })).body.data.dataProduct).toBeNull();
    expect(await slugs(admin.key, 'labs')).toEqual(['coming-soon']);
    expect((await gateway.query(ONE, { key: admin.key, variables: { id: 'coming-soon' } })).body.data.dataProduct.status).toBe('DRAFT');

    // A draft is not deprecated; it is published, after which it cannot go back to draft.
    const notDeprecated = await gateway.query(DEPRECATE, { key: admin.key, variables: { id: draft.id } });
    expect(notDeprecated.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringContaining('is a DRAFT') });
    expect((await publish(planProduct({ slug: 'coming-soon', domain: 'labs', version: '0.1.0' }))).body.data.publishDataProduct.status).toBe('PUBLISHED');
    expect(await slugs(subscriber, 'labs')).toEqual(['coming-soon']);
    const redraft = await gateway.query(DRAFT, { key: admin.key, variables: { input: planProduct({ slug: 'coming-soon', version: '0.2.0' }) } });
    expect(redraft.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringContaining('is already published') });
    expect((await auditFor(draft.id)).map((entry) => entry.action)).toEqual(['dataProduct.publish', 'dataProduct.saveDraft']);
  });

  it('deprecates a product: still listed, flagged, audited once however often it is asked', async () => {
    const product = (await publish(planProduct({ slug: 'old-offers' }))).body.data.publishDataProduct;
    const first = await gateway.query(DEPRECATE, { key: admin.key, variables: { id: 'old-offers' } });
    expect(first.body.data.deprecateDataProduct).toEqual(
      expect.objectContaining({ id: product.id, status: 'DEPRECATED', deprecated: true, deprecatedAt: expect.any(String) }),
    );
    const again = await gateway.query(DEPRECATE, { key: admin.key, variables: { id: product.id } });
    expect(again.body.data.deprecateDataProduct).toEqual(first.body.data.deprecateDataProduct);

    expect((await listed(subscriber)).find((listedProduct) => listedProduct.slug === 'old-offers')).toEqual(
      expect.objectContaining({ status: 'DEPRECATED', deprecated: true }),
    );
    const deprecations = (await auditFor(product.id)).filter((entry) => entry.action === 'dataProduct.deprecate');
    expect(deprecations).toEqual([
      expect.objectContaining({
        actorKeyId: admin.keyId,
        before: expect.objectContaining({ status: 'PUBLISHED' }),
        after: expect.objectContaining({ status: 'DEPRECATED', deprecated: true }),
      }),
    ]);

    // A higher version brings it back.
    const revived = (await publish(planProduct({ slug: 'old-offers', version: '2.0.0' }))).body.data.publishDataProduct;
    expect(revived).toEqual(expect.objectContaining({ status: 'PUBLISHED', deprecated: false, deprecatedAt: null, version: '2.0.0' }));

    const missing = await gateway.query(DEPRECATE, { key: admin.key, variables: { id: 'never-was' } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: 'data product not found' });
  });

  it('records quality measured by the pipeline', async () => {
    const prisma = gateway.services.db.prisma;
    const measuredAt = new Date('2026-11-24T10:15:00.000Z');
    expect(await recordQuality(prisma, 'customer-risk-scores', { freshnessLagP99Ms: 420, eventsPerSecond: 1500, measuredAt })).toBe(true);
    expect(await recordQuality(prisma, 'customer-risk-scores', { dlqRate: 0.001, completeness: 0.999, measuredAt })).toBe(true);
    const product = (await gateway.query(ONE, { key: subscriber, variables: { id: 'customer-risk-scores' } })).body.data.dataProduct;
    expect(product.quality).toEqual({
      freshnessLagP99Ms: 420,
      eventsPerSecond: 1500,
      dlqRate: 0.001,
      completeness: 0.999,
      measuredAt: measuredAt.toISOString(),
    });
    expect(Date.now() - new Date(product.qualityUpdatedAt).getTime()).toBeLessThan(60_000);

    expect(await recordQuality(prisma, 'no-such-product', { eventsPerSecond: 1 })).toBe(false);
    await expect(recordQuality(prisma, 'customer-risk-scores', { dlqRate: 2 })).rejects.toThrow('dlqRate must be between 0 and 1');
  });
});
