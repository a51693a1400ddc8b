import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { PlanCode } from '../generated/prisma/enums';
import { Connection } from '../graphql/connection';

@ObjectType({ description: 'Limits in force for an account: its plan, with per-account overrides (Enterprise) on top' })
export class Limits {
  @Field(() => Int, { description: 'Cost units per UTC day' })
  dailyQuota!: number;

  @Field(() => Int, { description: 'Cost units per second' })
  burstPerSecond!: number;

  @Field(() => Int)
  maxQueryCost!: number;

  @Field(() => Int)
  maxDepth!: number;

  @Field(() => Int, { description: 'Requests in flight each gateway process holds for this account under overload (0: none)' })
  reservedConcurrency!: number;
}

@ObjectType({ description: 'Per-account limit overrides; null means the plan decides' })
export class LimitOverrides {
  @Field(() => Int, { nullable: true })
  dailyQuota!: number | null;

  @Field(() => Int, { nullable: true })
  burstPerSecond!: number | null;

  @Field(() => Int, { nullable: true })
  maxQueryCost!: number | null;

  @Field(() => Int, { nullable: true })
  maxDepth!: number | null;

  @Field(() => Int, { nullable: true })
  reservedConcurrency!: number | null;
}

@ObjectType({ description: 'A customer of the API' })
export class Account {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  email!: string;

  @Field(() => PlanCode)
  planCode!: PlanCode;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class AccountConnection extends Connection(Account) {}

@InputType()
export class CreateAccountInput {
  @Field({ description: '1-200 characters' })
  name!: string;

  @Field({ description: 'Unique across accounts; stored lower-cased' })
  email!: string;

  @Field(() => PlanCode, { defaultValue: 'FREE' })
  planCode!: PlanCode;
}

@InputType({ description: 'Set a limit to override the plan, or to null to return to the plan value. Omitted limits stay as they are.' })
export class PlanOverridesInput {
  @Field(() => Int, { nullable: true })
  dailyQuota?: number | null;

  @Field(() => Int, { nullable: true })
  burstPerSecond?: number | null;

  @Field(() => Int, { nullable: true })
  maxQueryCost?: number | null;

  @Field(() => Int, { nullable: true })
  maxDepth?: number | null;

  @Field(() => Int, { nullable: true, description: 'Requests in flight each gateway process holds for this account under overload; 0 for none' })
  reservedConcurrency?: number | null;
}
