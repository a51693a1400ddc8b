import type { GraphQLSchema } from 'graphql';
import { CUSTOMER_RISK_SCORES, TRANSACTION_EVENT_SCHEMA } from '../../src/catalog/customer-risk-scores';
import { compileEventSchema, jsonSchemaProblem } from '../../src/catalog/json-schema';
import { compareSemver, isSemver } from '../../src/catalog/semver';
import { validateDataProduct, type DataProductDefinition } from '../../src/catalog/validation';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { PlanCode } from '../../src/generated/prisma/enums';
import { planProduct } from './fixtures';

const PLANS = Object.values(PlanCode);

describe('data-product validation', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildGatewaySchema();
  });
  const problemsOf = (definition: DataProductDefinition) => {
    const result = validateDataProduct(definition, { planCodes: PLANS, schema });
    return result.problems?.map((problem) => problem.message) ?? [];
  };

  it('accepts a valid product and returns it in its stored form', () => {
    const result = validateDataProduct(planProduct({ name: '  Plan offers  ' }), { planCodes: PLANS, schema });
    expect(result.problems).toBeUndefined();
    expect(result.product).toEqual(
      expect.objectContaining({
        name: 'Plan offers',
        accessPolicy: { plans: ['FREE', 'PROFESSIONAL'], fields: { FREE: ['code', 'name'], PROFESSIONAL: ['code', 'name', 'dailyQuota'] } },
      }),
    );
  });

  it('names every problem of a bad product at once', () => {
    const problems = problemsOf(
      planProduct({
        slug: 'Not A Slug',
        name: '',
        domain: 'x'.repeat(51),
        owner: ' ',
        description: 'd'.repeat(2001),
        slo: { freshnessSeconds: 0, availability: 0, latencyP99Ms: -1 },
        version: 'v1',
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^slug must be lowercase letters and digits/),
      'name must not be empty',
      'domain must be at most 50 characters',
      'owner must not be empty',
      'description must be at most 2000 characters',
      'slo.freshnessSeconds must be greater than 0',
      'slo.availability must be a percentage greater than 0',
      'slo.latencyP99Ms must be greater than 0',
      expect.stringMatching(/^version must be a semantic version/),
    ]);
    expect(problemsOf(planProduct({ slo: { freshnessSeconds: 1, availability: 100.5, latencyP99Ms: 1 } }))).toEqual([
      'slo.availability must be a percentage of at most 100',
    ]);
    expect(problemsOf(planProduct({ slo: { freshnessSeconds: 1, availability: 100, latencyP99Ms: 1 } }))).toEqual([]);
  });

  it('says which inputs are missing or of the wrong type (callers outside GraphQL)', () => {
    const { slug: _slug, ...noSlug } = planProduct();
    expect(problemsOf({ ...noSlug, version: 1 } as unknown as DataProductDefinition)).toEqual(
      expect.arrayContaining(['slug must be given', 'version must be a string']),
    );
  });

  it.each([
    ['Nope', 'graphqlType "Nope" is not a type of this API'],
    ['PlanCode', 'graphqlType "PlanCode" is an enum, not an object type'],
    ['DateTime', 'graphqlType "DateTime" is a scalar, not an object type'],
    ['Query', 'graphqlType "Query" is an operation or introspection type, not a type of data'],
    ['__Schema', 'graphqlType "__Schema" is an operation or introspection type, not a type of data'],
    ['not a name', 'graphqlType must be a GraphQL type name, e.g. RiskScore'],
  ])('refuses graphqlType %s', (graphqlType, message) => {
    expect(problemsOf(planProduct({ graphqlType }))).toEqual([message]);
  });

  it.each([
    [[], 'eventSchema must be a JSON Schema object'],
    [{ properties: {} }, 'eventSchema must describe a JSON object (an event), with "type": "object" at its top'],
    [
      { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' },
      'eventSchema.$schema must be "https://json-schema.org/draft/2020-12/schema" or left out',
    ],
    [
      { type: 'object', properties: { amount: { type: 'decimal' } } },
      /^eventSchema is not a valid JSON Schema \(draft 2020-12\): eventSchema\/properties\/amount\/type must be equal to one of the allowed values/,
    ],
    [{ type: 'object', requried: ['amount'] }, 'eventSchema is not a valid JSON Schema (draft 2020-12): strict mode: unknown keyword: "requried"'],
    [{ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }, /can't resolve reference #\/\$defs\/missing/],
    [{ type: 'object', properties: { a: { type: 'string', pattern: '(' } } }, /Invalid regular expression/],
    [{ type: 'object', properties: { a: { type: 'string', format: 'shoe-size' } } }, /unknown format "shoe-size"/],
  ])('refuses event schema %j with ajv’s reason', (eventSchema, message) => {
    const problems = problemsOf(planProduct({ eventSchema }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('checks the access policy against the plans and the fields of the type', () => {
    expect(
      problemsOf(
        planProduct({
          accessPolicy: {
            plans: ['FREE', 'GOLD', 'FREE', 'ENTERPRISE'],
            fields: [
              { plan: 'FREE', fields: ['code', 'colour', 'code'] },
              { plan: 'PROFESSIONAL', fields: ['code'] },
              { plan: 'PLATINUM', fields: ['code'] },
            ],
          },
        }),
      ),
    ).toEqual([
      'accessPolicy.plans names unknown plans "GOLD" (known plans: FREE, PROFESSIONAL, ENTERPRISE)',
      'accessPolicy.plans names "FREE" more than once',
      'accessPolicy.fields.FREE names "code" more than once',
      'accessPolicy.fields.FREE names fields that Plan does not have: "colour"',
      'accessPolicy.fields names plan "PROFESSIONAL", which is not in accessPolicy.plans',
      'accessPolicy.fields names unknown plan "PLATINUM" (known plans: FREE, PROFESSIONAL, ENTERPRISE)',
      'accessPolicy.fields must list the fields that "ENTERPRISE" may read',
    ]);
    expect(problemsOf(planProduct({ accessPolicy: { plans: [], fields: [] } }))).toEqual(['accessPolicy.plans must name at least one plan']);
    expect(problemsOf(planProduct({ accessPolicy: { plans: ['FREE'], fields: [{ plan: 'FREE', fields: [] }] } }))).toEqual([
      'accessPolicy.fields.0.fields must name at least one field',
    ]);
  });

  it('does not check policy fields against a type that does not exist', () => {
    expect(problemsOf(planProduct({ graphqlType: 'Nope' }))).toEqual(['graphqlType "Nope" is not a type of this API']);
  });
});

describe('the seeded customer-risk-scores product', () => {
  it('passes every check that does not need the running schema', () => {
    expect(validateDataProduct(CUSTOMER_RISK_SCORES, { planCodes: PLANS }).problems).toBeUndefined();
    expect(jsonSchemaProblem(TRANSACTION_EVENT_SCHEMA)).toBeUndefined();
  });

  it('its event schema accepts the transactions event of docs/contract.md and refuses malformed ones', () => {
    const validate = compileEventSchema(TRANSACTION_EVENT_SCHEMA);
    const event = {
      eventId: '0b7e4a52-4c8e-4a8e-9d55-3f0b6f6a1c11',
      customerId: 'c-123',
      merchantId: 'm-9',
      mcc: '5999',
      amount: '129.90',
      currency: 'EUR',
      country: 'DE',
      channel: 'ECOMMERCE',
      deviceId: 'd-77',
      timestamp: '2026-11-24T10:15:00.000Z',
    };
    expect(validate(event)).toEqual({ valid: true });
    for (const [field, value] of Object.entries({
      eventId: 'nope',
      mcc: '59',
      amount: '12.3.4',
      currency: 'eur',
      country: 'DEU',
      channel: 'PIGEON',
      timestamp: 'yesterday',
    })) {
      const result = validate({ ...event, [field]: value });
      expect(result).toEqual({ valid: false, errors: expect.stringContaining(`event/${field}`) });
    }
    expect(validate({ ...event, extra: 1 })).toEqual({ valid: false, errors: 'event must NOT have additional properties' });
    const { amount: _amount, ...withoutAmount } = event;
    expect(validate(withoutAmount)).toEqual({ valid: false, errors: "event must have required property 'amount'" });
  });

  it('names only fields that RiskScore has', async () => {
    const schema = await buildGatewaySchema();
    expect(schema.getType('RiskScore')).toBeDefined();
    expect(validateDataProduct(CUSTOMER_RISK_SCORES, { planCodes: PLANS, schema }).problems).toBeUndefined();
  });
});

describe('semantic versions', () => {
  it('recognises them', () => {
    for (const version of ['0.0.0', '1.2.3', '1.0.0-rc.1', '1.0.0+build.5', '10.20.30-alpha.beta+exp']) expect(isSemver(version)).toBe(true);
    for (const version of ['1', '1.2', 'v1.2.3', '01.2.3', '1.2.3-', '1.2.3-01', ' 1.2.3', '1.2.3.4']) expect(isSemver(version)).toBe(false);
  });

  it('orders them by precedence, as semver.org §11', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '1.10.0',
      '2.0.0',
    ];
    for (let i = 0; i < ordered.length - 1; i++) {
      expect(compareSemver(ordered[i], ordered[i + 1])).toBe(-1);
      expect(compareSemver(ordered[i + 1], ordered[i])).toBe(1);
    }
    expect(compareSemver('1.0.0+a', '1.0.0+b')).toBe(0);
  });
});
