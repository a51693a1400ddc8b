import { z } from 'zod';
import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { viewerOf } from '../auth/guards';
import { Free } from '../cost/hints';
import { badInput, notFound } from '../errors';
import { UsageGranularity } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';

registerEnumType(UsageGranularity, { name: 'UsageGranularity' });

@ObjectType({ description: 'Usage in one UTC hour or day' })
export class UsageBucket {
  @Field(() => Date)
  start!: Date;

  @Field(() => Date)
  end!: Date;

  @Field(() => Int, { description: 'Billable requests' })
  requests!: number;

  @Field(() => Int, { description: 'Cost units used (what is billed)' })
  costUnits!: number;

  @Field(() => Int, { description: 'Cost units Stripe has been told of' })
  reportedUnits!: number;

  @Field(() => Int, { description: 'Cost units recorded but not yet reported to Stripe' })
  pendingUnits!: number;
}

@Resolver()
export class UsageResolver {
  @Free()
  @Query(() => [UsageBucket], { description: 'Your usage per UTC hour or day (buckets without usage are left out). Free of charge.' })
  usage(
    @Ctx() context: GatewayContext,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('granularity', () => UsageGranularity, { defaultValue: 'DAY' }) granularity: UsageGranularity,
  ): Promise<UsageBucket[]> {
    return context.services.usage.usageOf(viewerOf(context).key.accountId, from, to, granularity);
  }

  @AdminOnly()
  @Free()
  @Query(() => [UsageBucket], { description: 'Any account’s usage. ADMIN.' })
  async accountUsage(
    @Ctx() context: GatewayContext,
    @Arg('accountId', () => ID) accountId: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('granularity', () => UsageGranularity, { defaultValue: 'DAY' }) granularity: UsageGranularity,
  ): Promise<UsageBucket[]> {
    if (!z.uuid().safeParse(accountId).success) throw badInput('accountId is not an account id', { fields: ['accountId'] });
    if (!(await context.services.accounts.find(accountId))) throw notFound('account');
    return context.services.usage.usageOf(accountId, from, to, granularity);
  }
}
