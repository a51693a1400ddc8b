import {
  GraphQLObjectType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isScalarType,
  isUnionType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { z } from 'zod';
import { badInput, type TollgraphError } from '../errors';
import type { PlanCode } from '../generated/prisma/enums';
import { jsonSchemaProblem } from './json-schema';
import { parseAvroSchema } from './registry/avro';
import { RegistryError } from './registry/errors';
import { isSemver } from './semver';

/** What an admin publishes (the GraphQL `DataProductInput`, flattened): not yet validated. */
export interface DataProductDefinition {
  slug: string;
  name: string;
  domain: string;
  owner: string;
  description: string;
  /** The GraphQL object type the product exposes, e.g. `RiskScore`. */
  graphqlType: string;
  /** JSON Schema (draft 2020-12) of the source events. */
  eventSchema: unknown;
  /**
   * Avro schema of the same events (a record with the JSON Schema's properties as fields), registered
   * under `eventAvroSubject` when the product is written. Left out: the product keeps the one it has.
   */
  eventAvroSchema?: unknown;
  /** The registry subject; default `<slug>-value`. Fixed once the product has one. */
  eventAvroSubject?: string | null;
  slo: Slo;
  accessPolicy: { plans: string[]; fields: Array<{ plan: string; fields: string[] }> };
  /** Semantic version of the product's contract. */
  version: string;
  /** What the product costs on its own (Stripe prices are made by `tollgraph stripe setup`); absent: sold through plans only. */
  pricing?: ProductPricing | null;
}

export interface ProductPricing {
  /** Monthly price as an add-on, in cents; null: not sold as an add-on. */
  addOnMonthlyPriceCents?: number | null;
  /** Price per cost unit read through the add-on, in cents as a decimal string (e.g. "0.1"); null: no metered price. */
  unitAmountDecimal?: string | null;
}

export interface Slo {
  /** How old the newest data may be, in seconds. */
  freshnessSeconds: number;
  /** Percent of time the product answers, e.g. 99.9. */
  availability: number;
  latencyP99Ms: number;
}

/** The access policy as stored (`data_products.access_policy`): which plans, and which fields each reads. */
export interface StoredAccessPolicy {
  plans: PlanCode[];
  fields: Partial<Record<PlanCode, string[]>>;
}

/** A definition that passed every check, in the form stored. */
export interface ValidDataProduct extends Omit<DataProductDefinition, 'eventSchema' | 'accessPolicy' | 'eventAvroSchema' | 'eventAvroSubject'> {
  eventSchema: Record<string, unknown>;
  accessPolicy: StoredAccessPolicy;
  /** The Avro contract to register; absent when the definition gives none. */
  avro?: { subject: string; schema: unknown };
}

export interface ValidationContext {
  /** Plan codes a policy may name (the plan catalogue). */
  planCodes: readonly string[];
  /**
   * The running API's schema, to check `graphqlType` and the policy's fields against. Left out
   * only for trusted definitions (the seed), whose type may be defined by another domain.
   */
  schema?: GraphQLSchema;
}

export interface Problem {
  /** Path of the offending input, e.g. `slo.availability` or `accessPolicy.fields.FREE`. */
  field: string;
  message: string;
}

export const LIMITS = {
  avroSubject: 255,
  slug: 64,
  name: 100,
  domain: 50,
  owner: 200,
  description: 2000,
  graphqlType: 100,
  plans: 20,
  fields: 500,
  fieldName: 100,
} as const;

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const YEAR_SECONDS = 365 * 24 * 3600;
const HOUR_MS = 3_600_000;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const identifier = (max: number, example: string) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(SLUG, `must be lowercase letters and digits in words joined by single hyphens, e.g. ${example}`);
// zod 4 numbers are finite: NaN and Infinity are refused as not numbers.
const positive = (max: number, unit: string) => z.number().positive('must be greater than 0').max(max, `must be at most ${max} ${unit}`);

/** One schema per top-level input, so every part is checked even when another is malformed. */
const parts = {
  slug: identifier(LIMITS.slug, 'customer-risk-scores'),
  name: text(LIMITS.name),
  domain: identifier(LIMITS.domain, 'risk'),
  owner: text(LIMITS.owner),
  description: text(LIMITS.description),
  graphqlType: z
    .string()
    .max(LIMITS.graphqlType, `must be at most ${LIMITS.graphqlType} characters`)
    .regex(GRAPHQL_NAME, 'must be a GraphQL type name, e.g. RiskScore'),
  eventSchema: z.unknown(),
  eventAvroSchema: z.unknown(),
  eventAvroSubject: z
    .string()
    .min(1, 'must not be empty')
    .max(LIMITS.avroSubject, `must be at most ${LIMITS.avroSubject} characters`)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters')
    .nullish(),
  slo: z.object({
    freshnessSeconds: positive(YEAR_SECONDS, 'seconds'),
    availability: z.number().gt(0, 'must be a percentage greater than 0').max(100, 'must be a percentage of at most 100'),
    latencyP99Ms: positive(HOUR_MS, 'milliseconds'),
  }),
  accessPolicy: z.object({
    plans: z.array(z.string()).min(1, 'must name at least one plan').max(LIMITS.plans, `must name at most ${LIMITS.plans} plans`),
    fields: z
      .array(
        z.object({
          plan: z.string(),
          fields: z
            .array(z.string().max(LIMITS.fieldName, `must be at most ${LIMITS.fieldName} characters`))
            .min(1, 'must name at least one field')
            .max(LIMITS.fields, `must name at most ${LIMITS.fields} fields`),
        }),
      )
      .max(LIMITS.plans, `must have at most ${LIMITS.plans} entries`),
  }),
  version: z.string().refine(isSemver, 'must be a semantic version such as 1.2.0 (semver.org)'),
  pricing: z
    .object({
      // Stripe's smallest charge is 50 cents.
      addOnMonthlyPriceCents: z.number().int('must be whole cents').min(50, 'must be at least 50 cents').max(100_000_000, 'is too large').nullish(),
      unitAmountDecimal: z
        .string()
        .regex(/^\d{1,8}(\.\d{1,12})?$/, 'must be cents as a decimal string, e.g. "0.1"')
        .refine((value) => Number(value) > 0, 'must be greater than 0')
        .nullish(),
    })
    .nullish(),
};

type Parts = { [K in keyof typeof parts]: z.infer<(typeof parts)[K]> };

const typeError = (issue: { code: string; expected?: unknown; input?: unknown }) =>
  issue.code === 'invalid_type' ? `must be ${issue.input === undefined ? 'given' : `a ${String(issue.expected)}`}` : undefined;

function duplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];
}

const list = (values: readonly string[]) => values.map((value) => `"${value}"`).join(', ');

/**
 * Checks a definition completely: shape and lengths, the GraphQL type against the running schema,
 * the event schema with ajv, SLO ranges, the access policy against the plans and the type's
 * fields, the version. Returns every problem, or the product in its stored form.
 */
export function validateDataProduct(
  input: DataProductDefinition,
  context: ValidationContext,
): { product: ValidDataProduct; problems?: never } | { problems: Problem[]; product?: never } {
  const problems: Problem[] = [];
  const raw = (input ?? {}) as unknown as Record<string, unknown>;
  const good: Partial<Parts> = {};
  for (const key of Object.keys(parts) as Array<keyof typeof parts>) {
    const result = parts[key].safeParse(raw[key], { error: typeError });
    if (result.success) (good as Record<string, unknown>)[key] = result.data;
    else
      for (const issue of result.error.issues)
        problems.push({ field: [key, ...issue.path].join('.'), message: `${[key, ...issue.path].join('.')} ${issue.message}` });
  }

  const schemaProblem = jsonSchemaProblem(raw.eventSchema);
  if (schemaProblem) problems.push({ field: 'eventSchema', message: schemaProblem });

  // The type, and its fields for the policy (undefined: unknown or not checked).
  let typeFields: Set<string> | undefined;
  if (good.graphqlType !== undefined && context.schema) {
    const problem = objectTypeProblem(context.schema, good.graphqlType);
    if (problem) problems.push({ field: 'graphqlType', message: problem });
    else typeFields = new Set(Object.keys((context.schema.getType(good.graphqlType) as GraphQLObjectType).getFields()));
  }

  if (good.accessPolicy) problems.push(...policyProblems(good.accessPolicy, context.planCodes, good.graphqlType, typeFields));

  const avroSchema = raw.eventAvroSchema ?? undefined;
  if (avroSchema !== undefined) {
    const problem = avroSchemaProblem(avroSchema, schemaProblem ? undefined : raw.eventSchema);
    if (problem) problems.push({ field: 'eventAvroSchema', message: problem });
  } else if (good.eventAvroSubject)
    problems.push({ field: 'eventAvroSubject', message: 'eventAvroSubject names the subject of an eventAvroSchema: give both' });

  if (problems.length) return { problems };
  const { accessPolicy, eventSchema, eventAvroSchema: _avroSchema, eventAvroSubject, ...rest } = good as Parts;
  return {
    product: {
      ...rest,
      ...(avroSchema !== undefined ? { avro: { subject: eventAvroSubject ?? `${rest.slug}-value`, schema: avroSchema } } : {}),
      eventSchema: eventSchema as Record<string, unknown>,
      accessPolicy: {
        plans: accessPolicy.plans as PlanCode[],
        fields: Object.fromEntries(accessPolicy.fields.map(({ plan, fields }) => [plan, fields])),
      },
    },
  };
}

/** The BAD_USER_INPUT for `problems`: every message, and the fields for clients to highlight. */
export function invalidDataProduct(problems: Problem[]): TollgraphError {
  return badInput(`Invalid data product: ${problems.map((problem) => problem.message).join('; ')}`, {
    fields: [...new Set(problems.map((problem) => problem.field))],
    problems,
  });
}

/**
 * Why `schema` is not the Avro form of the events: not a valid Avro schema, not a record, or its
 * fields are not the JSON Schema's properties (both describe the same events).
 */
function avroSchemaProblem(schema: unknown, jsonSchema: unknown): string | undefined {
  let type: ReturnType<typeof parseAvroSchema>['type'];
  try {
    type = parseAvroSchema(schema).type;
  } catch (error) {
    if (error instanceof RegistryError) return `eventAvroSchema is not a valid Avro schema: ${error.message.replace(/^Invalid schema: /, '')}`;
    throw error;
  }
  if (type.typeName !== 'record') return 'eventAvroSchema must be an Avro record (an event)';
  const properties = (jsonSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!properties) return undefined;
  const fields = (type as unknown as { fields: Array<{ name: string }> }).fields.map((field) => field.name);
  const missing = Object.keys(properties).filter((name) => !fields.includes(name));
  const extra = fields.filter((name) => !(name in properties));
  if (missing.length || extra.length) {
    return `eventAvroSchema must have the eventSchema's properties as its fields${missing.length ? `; missing ${list(missing)}` : ''}${extra.length ? `; not in eventSchema ${list(extra)}` : ''}`;
  }
  return undefined;
}

function objectTypeProblem(schema: GraphQLSchema, name: string): string | undefined {
  const type = schema.getType(name);
  if (!type) return `graphqlType "${name}" is not a type of this API`;
  if (!(type instanceof GraphQLObjectType)) return `graphqlType "${name}" is ${kindOf(type)}, not an object type`;
  if (isIntrospectionType(type) || [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].includes(type)) {
    return `graphqlType "${name}" is an operation or introspection type, not a type of data`;
  }
  return undefined;
}

function kindOf(type: GraphQLNamedType): string {
  if (isScalarType(type)) return 'a scalar';
  if (isEnumType(type)) return 'an enum';
  if (isInputObjectType(type)) return 'an input type';
  if (isInterfaceType(type)) return 'an interface';
  if (isUnionType(type)) return 'a union';
  return 'another kind of type';
}

function policyProblems(
  policy: Parts['accessPolicy'],
  planCodes: readonly string[],
  typeName: string | undefined,
  typeFields: Set<string> | undefined,
): Problem[] {
  const problems: Problem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  const known = `known plans: ${planCodes.join(', ')}`;

  const unknownPlans = policy.plans.filter((plan) => !planCodes.includes(plan));
  if (unknownPlans.length) add('accessPolicy.plans', `accessPolicy.plans names unknown plans ${list(unknownPlans)} (${known})`);
  const repeatedPlans = duplicates(policy.plans);
  if (repeatedPlans.length) add('accessPolicy.plans', `accessPolicy.plans names ${list(repeatedPlans)} more than once`);

  const listed = policy.fields.map((entry) => entry.plan);
  const repeatedEntries = duplicates(listed);
  if (repeatedEntries.length) add('accessPolicy.fields', `accessPolicy.fields has more than one entry for ${list(repeatedEntries)}`);
  for (const { plan, fields } of policy.fields) {
    const path = `accessPolicy.fields.${plan}`;
    if (!planCodes.includes(plan)) add(path, `accessPolicy.fields names unknown plan "${plan}" (${known})`);
    else if (!policy.plans.includes(plan)) add(path, `accessPolicy.fields names plan "${plan}", which is not in accessPolicy.plans`);
    const repeatedFields = duplicates(fields);
    if (repeatedFields.length) add(path, `${path} names ${list(repeatedFields)} more than once`);
    const missing = typeFields ? [...new Set(fields.filter((field) => !typeFields.has(field)))] : [];
    if (missing.length) add(path, `${path} names fields that ${typeName} does not have: ${list(missing)}`);
  }
  const withoutFields = policy.plans.filter((plan) => planCodes.includes(plan) && !listed.includes(plan));
  if (withoutFields.length) add('accessPolicy.fields', `accessPolicy.fields must list the fields that ${list([...new Set(withoutFields)])} may read`);
  return problems;
}
