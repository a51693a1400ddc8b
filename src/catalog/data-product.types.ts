import { GraphQLJSON } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DataProductLifecycle, PlanCode } from '../generated/prisma/enums';
import '../plans/plan.types'; // registers PlanCode

registerEnumType(DataProductLifecycle, {
  name: 'DataProductLifecycle',
  description: 'DRAFT: being prepared, visible to ADMIN keys only; PUBLISHED: served; DEPRECATED: still served, to be retired',
});

@ObjectType('SLO', { description: 'What the data product promises' })
export class Slo {
  @Field(() => Float, { description: 'How old the newest data may be, in seconds' })
  freshnessSeconds!: number;

  @Field(() => Float, { description: 'Percent of time the product answers, e.g. 99.9' })
  availability!: number;

  @Field(() => Float, { description: '99th percentile of the latency of a read, in milliseconds' })
  latencyP99Ms!: number;
}

@ObjectType({ description: 'Quality as last measured by the pipeline that serves the product; null until measured' })
export class QualityMetrics {
  @Field(() => Float, { nullable: true, description: 'p99 of the lag between an event and its result, in milliseconds' })
  freshnessLagP99Ms!: number | null;

  @Field(() => Float, { nullable: true, description: 'Source events processed per second' })
  eventsPerSecond!: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of source events refused to the dead-letter topic (0-1)' })
  dlqRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of expected results present (0-1)' })
  completeness!: number | null;

  @Field(() => Date, { nullable: true, description: 'When these numbers were measured' })
  measuredAt!: Date | null;
}

@ObjectType({ description: 'The fields of the product’s type one plan may read' })
export class PlanFieldAccess {
  @Field(() => PlanCode)
  plan!: PlanCode;

  @Field(() => [String])
  fields!: string[];
}

@ObjectType({ description: 'Which plans may use the product, and which fields each reads' })
export class AccessPolicy {
  @Field(() => [PlanCode])
  plans!: PlanCode[];

  @Field(() => [PlanFieldAccess])
  fields!: PlanFieldAccess[];
}

@ObjectType({ description: 'The Avro form of the source events, registered in the catalog’s schema registry (Confluent REST API under /registry)' })
export class AvroContract {
  @Field({ description: 'The registry subject, e.g. transactions-value' })
  subject!: string;

  @Field(() => Int, { description: 'The registry id of the schema: what Confluent-framed messages carry (magic byte 0, then the id as 4 bytes big-endian)' })
  schemaId!: number;

  @Field(() => Int, { nullable: true, description: 'Its version under the subject' })
  version!: number | null;

  @Field(() => GraphQLJSON, { description: 'The Avro schema (a record)' })
  schema!: unknown;
}

@ObjectType({ description: 'The product’s contract: what it exposes and what it is computed from' })
export class DataProductSchema {
  @Field({ description: 'The GraphQL object type the product exposes, e.g. RiskScore' })
  graphqlType!: string;

  @Field(() => GraphQLJSON, { description: 'JSON Schema (draft 2020-12) of the source events' })
  eventJsonSchema!: Record<string, unknown>;

  @Field(() => AvroContract, {
    nullable: true,
    description: 'The Avro form of the source events, as this version registered it; null: the product has no Avro contract',
  })
  eventAvro!: AvroContract | null;
}

@ObjectType({ description: 'What a data product costs on its own, beside the plans that include it' })
export class ProductPricing {
  @Field(() => Int, { nullable: true, description: 'Monthly price as an add-on (createAddOnCheckoutSession), in cents; null: not sold as an add-on' })
  addOnMonthlyPriceCents!: number | null;

  @Field(() => String, { nullable: true, description: 'Price per cost unit read through the add-on, in cents (decimal string); null: none' })
  unitAmountDecimal!: string | null;
}

@ObjectType({ description: 'How the caller may read a data product' })
export class ProductAccessView {
  @Field({ description: 'The caller’s plan includes the product' })
  includedInPlan!: boolean;

  @Field({ description: 'The caller’s account holds the product as an add-on' })
  addOn!: boolean;

  @Field({ description: 'The caller may read the product’s fields now' })
  readable!: boolean;
}

@ObjectType({ description: 'A data product of the catalogue (data mesh): owned, versioned, with an SLO and an access policy' })
export class DataProduct {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Stable public identifier, e.g. customer-risk-scores; dataProduct(id:) accepts it too' })
  slug!: string;

  @Field()
  name!: string;

  @Field({ description: 'The business domain that owns the product, e.g. risk' })
  domain!: string;

  @Field({ description: 'Who answers for the product (team or address)' })
  owner!: string;

  @Field()
  description!: string;

  @Field(() => DataProductSchema)
  schema!: DataProductSchema;

  @Field(() => Slo)
  slo!: Slo;

  @Field(() => QualityMetrics)
  quality!: QualityMetrics;

  @Field(() => Date, { nullable: true, description: 'When the pipeline last reported quality' })
  qualityUpdatedAt!: Date | null;

  @Field(() => AccessPolicy)
  accessPolicy!: AccessPolicy;

  @Field(() => ProductPricing)
  pricing!: ProductPricing;

  @Field({ description: 'Semantic version of the contract' })
  version!: string;

  @Field(() => DataProductLifecycle)
  status!: DataProductLifecycle;

  @Field({ description: 'True once the product is DEPRECATED: it is still served, but plan to move off it' })
  deprecated!: boolean;

  @Field(() => Date, { nullable: true, description: 'When the current version was published' })
  publishedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  deprecatedAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@InputType('SLOInput')
export class SloInput {
  @Field(() => Float, { description: 'Seconds, greater than 0' })
  freshnessSeconds!: number;

  @Field(() => Float, { description: 'Percent, greater than 0 and at most 100' })
  availability!: number;

  @Field(() => Float, { description: 'Milliseconds, greater than 0' })
  latencyP99Ms!: number;
}

@InputType()
export class PlanFieldAccessInput {
  @Field(() => PlanCode, { description: 'Must also be in AccessPolicyInput.plans' })
  plan!: PlanCode;

  @Field(() => [String], { description: 'Fields of the product’s GraphQL type' })
  fields!: string[];
}

@InputType()
export class AccessPolicyInput {
  @Field(() => [PlanCode])
  plans!: PlanCode[];

  @Field(() => [PlanFieldAccessInput], { description: 'One entry for each plan in plans' })
  fields!: PlanFieldAccessInput[];
}

@InputType()
export class ProductPricingInput {
  @Field(() => Int, { nullable: true, description: 'Cents, at least 50; null: not sold as an add-on' })
  addOnMonthlyPriceCents?: number | null;

  @Field(() => String, { nullable: true, description: 'Cents per cost unit as a decimal string, e.g. "0.1"; null: no metered price' })
  unitAmountDecimal?: string | null;
}

@InputType({ description: 'A data product to publish; publishing an existing slug needs a higher version' })
export class DataProductInput {
  @Field({ description: 'Lowercase words joined by hyphens, at most 64 characters' })
  slug!: string;

  @Field()
  name!: string;

  @Field({ description: 'Lowercase words joined by hyphens, e.g. risk' })
  domain!: string;

  @Field()
  owner!: string;

  @Field()
  description!: string;

  @Field({ description: 'The GraphQL object type of this API the product exposes (DataProduct.schema.graphqlType)' })
  graphqlType!: string;

  @Field(() => GraphQLJSON, { description: 'JSON Schema (draft 2020-12, "type": "object") of the source events (DataProduct.schema.eventJsonSchema)' })
  eventSchema!: unknown;

  @Field(() => GraphQLJSON, {
    nullable: true,
    description:
      'Avro schema of the same events (a record whose fields are eventSchema’s properties), registered under eventAvroSubject; refused when incompatible with the subject’s earlier schemas (the registry’s compatibility level). Left out: the product keeps its Avro contract',
  })
  eventAvroSchema?: unknown;

  @Field(() => String, {
    nullable: true,
    description: 'Registry subject of eventAvroSchema; default <slug>-value. A product’s subject does not change once set',
  })
  eventAvroSubject?: string | null;

  @Field(() => SloInput)
  slo!: SloInput;

  @Field(() => AccessPolicyInput)
  accessPolicy!: AccessPolicyInput;

  @Field({ description: 'Semantic version, e.g. 1.0.0' })
  version!: string;

  @Field(() => ProductPricingInput, { nullable: true, description: 'Its own prices; left out: sold through the plans of its policy only' })
  pricing?: ProductPricingInput | null;
}
