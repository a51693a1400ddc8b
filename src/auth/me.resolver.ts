import { Ctx, Field, ObjectType, Query, Resolver } from 'type-graphql';
import { Account, Limits } from '../accounts/account.types';
import type { GatewayContext } from '../gateway/context';
import { ApiKey } from '../keys/key.types';
import { Plan } from '../plans/plan.types';
import { Free } from '../cost/hints';
import { viewerOf } from './guards';

@ObjectType({ description: 'The caller: its account, plan, limits and the key in use' })
export class Me {
  @Field(() => Account)
  account!: Account;

  @Field(() => Plan)
  plan!: Plan;

  @Field(() => Limits, { description: 'Limits in force (plan plus account overrides)' })
  limits!: Limits;

  @Field(() => ApiKey, { description: 'The key this request was made with' })
  key!: ApiKey;
}

@Resolver()
export class MeResolver {
  @Free()
  @Query(() => Me, { description: 'Who am I: account, plan, limits and this key.' })
  async me(@Ctx() context: GatewayContext): Promise<Me> {
    const { key, access } = viewerOf(context);
    const apiKey = await context.services.keys.find(key.id);
    if (!apiKey) throw new Error(`verified key ${key.id} has disappeared`);
    return { account: access.account, plan: access.plan, limits: access.limits, key: apiKey };
  }
}
