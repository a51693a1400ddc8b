import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PlanCode } from '../generated/prisma/enums';

registerEnumType(PlanCode, { name: 'PlanCode', description: 'The plans a subscriber can be on' });

@ObjectType({ description: 'A subscription plan. Limits are in cost units; a simple riskScore query costs 1.' })
export class Plan {
  @Field(() => PlanCode)
  code!: PlanCode;

  @Field()
  name!: string;

  @Field(() => Int, { description: 'Flat monthly price in cents (0 for FREE; ENTERPRISE is priced per contract)' })
  monthlyPriceCents!: number;

  @Field({ description: 'ISO currency of the price' })
  currency!: string;

  @Field(() => Int, { description: 'Cost units per UTC day' })
  dailyQuota!: number;

  @Field(() => Int, { description: 'Cost units per second (burst)' })
  burstPerSecond!: number;

  @Field(() => Int, { description: 'Largest cost one query may have' })
  maxQueryCost!: number;

  @Field(() => Int, { description: 'Deepest selection one query may have' })
  maxDepth!: number;

  @Field(() => Int, {
    description: 'Requests in flight each gateway process holds for each account of the plan under overload (0: none); see README, "Overload"',
  })
  reservedConcurrency!: number;

  @Field(() => String, { nullable: true, description: 'Service level the plan promises' })
  sla!: string | null;

  @Field(() => Float, { nullable: true, description: 'Monthly availability promised (0-1); a month below it earns a service credit' })
  slaAvailability!: number | null;

  @Field(() => Int, { description: 'Share of the monthly price credited for a month below the promise, in percent' })
  slaCreditPercent!: number;

  @Field(() => [String])
  features!: string[];

  @Field(() => [String], { description: 'Capabilities the plan includes, e.g. risk.score (what it may read)' })
  grants!: string[];
}

@InputType({ description: 'Changes to a plan; omitted fields stay as they are' })
export class UpdatePlanInput {
  @Field({ nullable: true })
  name?: string;

  @Field(() => Int, { nullable: true })
  monthlyPriceCents?: number;

  @Field(() => Int, { nullable: true })
  dailyQuota?: number;

  @Field(() => Int, { nullable: true })
  burstPerSecond?: number;

  @Field(() => Int, { nullable: true })
  maxQueryCost?: number;

  @Field(() => Int, { nullable: true })
  maxDepth?: number;

  @Field(() => Int, { nullable: true })
  reservedConcurrency?: number;

  @Field(() => String, { nullable: true })
  sla?: string;

  @Field(() => Float, { nullable: true })
  slaAvailability?: number;

  @Field(() => Int, { nullable: true })
  slaCreditPercent?: number;

  @Field(() => [String], { nullable: true })
  features?: string[];

  @Field(() => [String], { nullable: true, description: 'Replaces the capabilities (see Plan.grants for the names)' })
  grants?: string[];
}
