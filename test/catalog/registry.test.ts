import { SchemaRegistry as RegistryClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import { TRANSACTION_AVRO_SCHEMA, TRANSACTIONS_SUBJECT } from '../../src/catalog/customer-risk-scores';
import { startTestGateway, type TestGateway } from '../support/harness';
import { planProduct } from './fixtures';

/** A record schema `Order` with these extra fields after `id`. */
const order = (...fields: Array<Record<string, unknown>>) => ({
  type: 'record',
  name: 'Order',
  namespace: 'test',
  fields: [{ name: 'id', type: 'string' }, ...fields],
});
const V1 = order();
const WITH_DEFAULT = order({ name: 'note', type: 'string', default: '' });
const WITHOUT_DEFAULT = order({ name: 'amount', type: 'int' });

const PRODUCT_AVRO = `schema { eventAvro { subject schemaId version schema } }`;
const PUBLISH = `mutation($input: DataProductInput!) { publishDataProduct(input: $input) { version ${PRODUCT_AVRO} } }`;
const ONE = `query($id: ID!) { dataProduct(id: $id) { version ${PRODUCT_AVRO} } }`;

/**
 * The catalog's schema registry on a real gateway and Postgres, driven by the standard client
 * (@kafkajs/confluent-schema-registry) and by plain HTTP for what the client does not show
 * (status codes, error bodies, media types).
 */
describe('schema registry (Confluent REST API) on a real gateway and Postgres', () => {
  let gateway: TestGateway;
  let admin: string;
  let free: string;
  let registry: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    admin = (await gateway.newKey({ role: 'ADMIN', plan: 'ENTERPRISE' })).key;
    free = (await gateway.newKey({ plan: 'FREE' })).key;
    registry = `${gateway.url}/registry`;
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  const client = (key: string) => new RegistryClient({ host: registry, auth: { username: 'tollgraph', password: key }, retry: { retries: 0 } });
  const call = async (
    method: string,
    path: string,
    { key = admin, body, type = 'application/vnd.schemaregistry.v1+json' }: { key?: string | null; body?: unknown; type?: string } = {},
  ) => {
    const response = await fetch(`${registry}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': type } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
  };
  const register = (subject: string, schema: unknown, key: string | null = admin) =>
    call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { key, body: { schema: JSON.stringify(schema) } });
  const stored = async () => ({
    schemas: await gateway.services.db.prisma.registrySchema.count(),
    versions: await gateway.services.db.prisma.registryVersion.count(),
  });

  it('registers, encodes and decodes with the standard client', async () => {
    const registryClient = client(admin);
    const { id } = await registryClient.register({ type: SchemaType.AVRO, schema: JSON.stringify(V1) }, { subject: 'orders-value' });
    const framed = await registryClient.encode(id, { id: 'o-1' });
    expect(framed[0]).toBe(0);
    expect(framed.readInt32BE(1)).toBe(id);
    // A reader that knows only the id: the schema comes from GET /schemas/ids/{id}.
    expect(await client(admin).decode(framed)).toEqual({ id: 'o-1' });

    // A compatible change (BACKWARD, the level the client set): a new id and version 2.
    const second = await registryClient.register({ type: SchemaType.AVRO, schema: JSON.stringify(WITH_DEFAULT) }, { subject: 'orders-value' });
    expect(second.id).not.toBe(id);
    expect(await registryClient.getLatestSchemaId('orders-value')).toBe(second.id);
    expect(await registryClient.getRegistryId('orders-value', 1)).toBe(id);
    expect(await registryClient.getRegistryIdBySchema('orders-value', { type: SchemaType.AVRO, schema: JSON.stringify(V1) })).toBe(id);
    // Data written with version 1, read with version 2's schema: resolution fills the default.
    const withReader = { [SchemaType.AVRO]: { readerSchema: WITH_DEFAULT } } as Parameters<RegistryClient['decode']>[1];
    expect(await client(admin).decode(framed, withReader)).toEqual({ id: 'o-1', note: '' });

    // The same schema again: the same id, no new version; under another subject: the same id too.
    expect((await registryClient.register({ type: SchemaType.AVRO, schema: JSON.stringify(V1) }, { subject: 'orders-value' })).id).toBe(id);
    expect((await register('orders-copy-value', V1)).body).toEqual({ id });

    expect((await call('GET', '/subjects/orders-value/versions')).body).toEqual([1, 2]);
    expect((await call('GET', '/subjects/orders-value/versions/latest')).body).toEqual({
      subject: 'orders-value',
      version: 2,
      id: second.id,
      schema: JSON.stringify(WITH_DEFAULT),
    });
    expect((await call('GET', `/schemas/ids/${id}`)).body).toEqual({ schema: JSON.stringify(V1) });
    expect((await call('GET', '/subjects')).body).toEqual(expect.arrayContaining(['orders-value', 'orders-copy-value', TRANSACTIONS_SUBJECT]));
    expect((await call('GET', '/config/orders-value')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
  });

  it('answers an incompatible change with 409 and stores nothing', async () => {
    await register('inc-value', V1);
    const before = await stored();
    const refused = await register('inc-value', WITHOUT_DEFAULT);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      error_code: 409,
      message: expect.stringMatching(/incompatible with an earlier schema for subject "inc-value".*BACKWARD.*version 1/),
    });
    expect(await stored()).toEqual(before);
    expect((await call('GET', '/subjects/inc-value/versions')).body).toEqual([1]);
    // Through the client too: its error carries the status.
    await expect(client(admin).register({ type: SchemaType.AVRO, schema: JSON.stringify(WITHOUT_DEFAULT) }, { subject: 'inc-value' })).rejects.toMatchObject({
      status: 409,
    });
  });

  it.each([
    // level, [v1, v2, v3 candidates] → which of v2 and v3 are accepted
    ['BACKWARD', [order(), order({ name: 'a', type: 'int', default: 0 }), order({ name: 'b', type: 'int' })], [200, 409]],
    ['FORWARD', [order({ name: 'a', type: 'int' }), order({ name: 'a', type: 'int' }, { name: 'b', type: 'int' }), order()], [200, 409]],
    ['FULL', [order(), order({ name: 'a', type: 'int', default: 0 }), order({ name: 'a', type: 'int', default: 0 }, { name: 'b', type: 'int' })], [200, 409]],
    ['NONE', [order(), order({ name: 'a', type: 'int' }), { type: 'record', name: 'Other', fields: [] }], [200, 200]],
    // v3 drops the default v2 gave: fine against v2 alone, not against v1.
    ['BACKWARD', [order(), order({ name: 'a', type: 'int', default: 0 }), order({ name: 'a', type: 'int' })], [200, 200]],
    ['BACKWARD_TRANSITIVE', [order(), order({ name: 'a', type: 'int', default: 0 }), order({ name: 'a', type: 'int' })], [200, 409]],
    ['FORWARD_TRANSITIVE', [order({ name: 'a', type: 'int' }), order({ name: 'a', type: 'int', default: 0 }), order()], [200, 409]],
    ['FULL_TRANSITIVE', [order(), order({ name: 'a', type: 'int', default: 0 }), order({ name: 'a', type: 'int' })], [200, 409]],
  ])('checks %s through Avro schema resolution', async (level, [v1, v2, v3], expected) => {
    const subject = `mode-${level.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}-value`;
    expect((await call('PUT', `/config/${subject}`, { body: { compatibility: level } })).body).toEqual({ compatibility: level });
    expect((await register(subject, v1)).status).toBe(200);
    const statuses = [(await register(subject, v2)).status, (await register(subject, v3)).status];
    expect(statuses).toEqual(expected);
    // The compatibility test says what registering said, without writing.
    const versions = (await call('GET', `/subjects/${subject}/versions`)).body;
    const tested = await call('POST', `/compatibility/subjects/${subject}/versions/latest`, { body: { schema: JSON.stringify(v3) } });
    expect(tested.body).toMatchObject({ is_compatible: expected[1] === 200 });
    expect((await call('GET', `/subjects/${subject}/versions`)).body).toEqual(versions);
  });

  it('uses the global level for subjects without their own', async () => {
    expect((await call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect((await call('PUT', '/config', { body: { compatibility: 'NONE' } })).body).toEqual({ compatibility: 'NONE' });
    try {
      await register('global-value', V1);
      expect((await register('global-value', WITHOUT_DEFAULT)).status).toBe(200);
      expect((await call('GET', '/config/global-value')).body).toEqual({ error_code: 40408, message: expect.any(String) });
      expect((await call('GET', '/config/global-value?defaultToGlobal=true')).body).toEqual({ compatibilityLevel: 'NONE' });
    } finally {
      await call('PUT', '/config', { body: { compatibility: 'BACKWARD' } });
    }
  });

  it("answers errors in the registry's codes and body shape", async () => {
    await register('errors-value', V1);
    const cases: Array<[Promise<{ status: number; body: unknown }>, number, number]> = [
      [call('GET', '/subjects/nope-value/versions'), 404, 40401],
      [call('GET', '/subjects/errors-value/versions/7'), 404, 40402],
      [call('GET', '/subjects/errors-value/versions/zero'), 422, 42202],
      [call('GET', '/schemas/ids/999999'), 404, 40403],
      [call('POST', '/subjects/errors-value', { body: { schema: JSON.stringify(WITH_DEFAULT) } }), 404, 40403],
      [register('errors-value', { type: 'record', name: 'Bad', fields: [{ name: 'x', type: 'nosuchtype' }] }), 422, 42201],
      [call('POST', '/subjects/errors-value/versions', { body: { schema: '{not json' } }), 422, 42201],
      [call('POST', '/subjects/errors-value/versions', { body: { schema: '"string"', schemaType: 'PROTOBUF' } }), 422, 42201],
      [call('PUT', '/config/errors-value', { body: { compatibility: 'SIDEWAYS' } }), 422, 42203],
    ];
    for (const [answer, status, errorCode] of cases) {
      const { status: got, body } = await answer;
      expect({ got, body }).toEqual({ got: status, body: { error_code: errorCode, message: expect.any(String) } });
    }
  });

  it('accepts application/json as well as its own media type, and answers in the one asked for', async () => {
    const created = await call('POST', '/subjects/json-type-value/versions', { body: { schema: JSON.stringify(V1) }, type: 'application/json' });
    expect(created.status).toBe(200);
    expect(created.type).toMatch(/^application\/vnd\.schemaregistry\.v1\+json/);
    const asJson = await fetch(`${registry}/subjects/json-type-value/versions`, { headers: { authorization: `Bearer ${admin}`, accept: 'application/json' } });
    expect(asJson.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await call('POST', '/subjects/json-type-value/versions', { body: 'schema', type: 'text/plain' })).status).toBe(415);
  });

  it('refuses writes without an ADMIN key (403 as 40301; no or an unknown key 401), before reading the body', async () => {
    const before = await stored();
    expect(await register('sub-value', V1, free)).toEqual({ status: 403, type: expect.any(String), body: { error_code: 40301, message: expect.any(String) } });
    expect((await call('PUT', '/config', { key: free, body: { compatibility: 'NONE' } })).status).toBe(403);
    await expect(client(free).register({ type: SchemaType.AVRO, schema: JSON.stringify(V1) }, { subject: 'sub-value' })).rejects.toMatchObject({ status: 403 });
    expect((await register('sub-value', V1, null)).body).toEqual({ error_code: 401, message: expect.any(String) });
    expect((await register('sub-value', V1, 'tg_test_notakey')).status).toBe(401);
    expect(await stored()).toEqual(before);

    // A body far over the limit: a keyless or non-admin caller is refused on its headers (401/403),
    // an admin's is refused for its size (413).
    const huge = JSON.stringify({ schema: 'x'.repeat(300 * 1024) });
    expect((await call('POST', '/subjects/big-value/versions', { key: null, body: huge })).status).toBe(401);
    expect((await call('POST', '/subjects/big-value/versions', { key: free, body: huge })).status).toBe(403);
    expect(await call('POST', '/subjects/big-value/versions', { body: huge })).toMatchObject({ status: 413, body: { error_code: 413 } });
  });

  it('lets a key read the subjects of the products its plan may use, and nothing else', async () => {
    await register('admin-only-value', V1);
    // transactions-value belongs to customer-risk-scores (seeded), which FREE may use.
    expect((await call('GET', '/subjects', { key: free })).body).toEqual([TRANSACTIONS_SUBJECT]);
    const latest = await call('GET', `/subjects/${TRANSACTIONS_SUBJECT}/versions/latest`, { key: free });
    expect(latest.body).toMatchObject({ subject: TRANSACTIONS_SUBJECT, version: 1, schema: JSON.stringify(TRANSACTION_AVRO_SCHEMA) });
    expect((await call('GET', `/schemas/ids/${latest.body.id}`, { key: free })).status).toBe(200);
    expect(await client(free).getRegistryIdBySchema(TRANSACTIONS_SUBJECT, { type: SchemaType.AVRO, schema: JSON.stringify(TRANSACTION_AVRO_SCHEMA) })).toBe(
      latest.body.id,
    );
    // A subject of no product reads as absent, and so does its schema.
    expect((await call('GET', '/subjects/admin-only-value/versions', { key: free })).body).toMatchObject({ error_code: 40401 });
    const adminOnlyId = (await call('GET', '/subjects/admin-only-value/versions/1')).body.id;
    expect((await call('GET', `/schemas/ids/${adminOnlyId}`, { key: free })).body).toMatchObject({ error_code: 40403 });
  });

  it('registers the Avro schema of a published data product, and refuses an incompatible version of it', async () => {
    const avroOf = (...fields: Array<Record<string, unknown>>) => ({
      type: 'record',
      name: 'PlanOffer',
      fields: [{ name: 'code', type: 'string' }, ...fields],
    });
    const product = planProduct({ slug: 'plan-offers-avro', eventAvroSchema: avroOf() });
    const first = await gateway.query(PUBLISH, { key: admin, variables: { input: product } });
    expect(first.body.errors).toBeUndefined();
    const contract = first.body.data.publishDataProduct.schema.eventAvro;
    expect(contract).toEqual({ subject: 'plan-offers-avro-value', schemaId: expect.any(Number), version: 1, schema: avroOf() });
    // FREE may use the product: its key reads the subject.
    expect((await call('GET', '/subjects/plan-offers-avro-value/versions/1', { key: free })).body).toMatchObject({ id: contract.schemaId });

    // The JSON Schema and the Avro record grow together; a field without a default is not BACKWARD.
    const grown = (avroField: Record<string, unknown>) =>
      planProduct({
        slug: 'plan-offers-avro',
        version: '1.1.0',
        eventSchema: { type: 'object', properties: { code: { type: 'string' }, region: { type: 'string' } }, required: ['code'] },
        eventAvroSchema: avroOf(avroField),
      });
    const before = await stored();
    const refused = await gateway.query(PUBLISH, { key: admin, variables: { input: grown({ name: 'region', type: 'string' }) } });
    expect(refused.body.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', fields: ['eventAvroSchema'], registryErrorCode: 409 },
      message: expect.stringMatching(/incompatible/),
    });
    expect(await stored()).toEqual(before);
    expect((await gateway.query(ONE, { key: admin, variables: { id: 'plan-offers-avro' } })).body.data.dataProduct).toEqual({
      version: '1.0.0',
      schema: { eventAvro: contract },
    });

    const accepted = await gateway.query(PUBLISH, { key: admin, variables: { input: grown({ name: 'region', type: 'string', default: 'EU' }) } });
    expect(accepted.body.errors).toBeUndefined();
    expect(accepted.body.data.publishDataProduct.schema.eventAvro).toMatchObject({ subject: 'plan-offers-avro-value', version: 2 });
    // Publishing again without an Avro schema keeps the contract.
    const kept = await gateway.query(PUBLISH, { key: admin, variables: { input: { ...grown({}), version: '1.2.0', eventAvroSchema: undefined } } });
    expect(kept.body.data.publishDataProduct.schema.eventAvro).toMatchObject({ version: 2 });
  });

  it("refuses an Avro schema that is not the JSON Schema's event", async () => {
    const mismatched = await gateway.query(PUBLISH, {
      key: admin,
      variables: {
        input: planProduct({ slug: 'plan-offers-mismatch', eventAvroSchema: { type: 'record', name: 'X', fields: [{ name: 'other', type: 'string' }] } }),
      },
    });
    expect(mismatched.body.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', fields: ['eventAvroSchema'] },
      message: expect.stringMatching(/missing "code".*not in eventSchema "other"/),
    });
  });

  it('seeds the customer-risk-scores product with the transactions Avro contract', async () => {
    const seeded = (await gateway.query(ONE, { key: admin, variables: { id: 'customer-risk-scores' } })).body.data.dataProduct;
    expect(seeded.schema.eventAvro).toEqual({ subject: TRANSACTIONS_SUBJECT, schemaId: expect.any(Number), version: 1, schema: TRANSACTION_AVRO_SCHEMA });
  });
});
