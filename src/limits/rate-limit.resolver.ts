import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { viewerOf } from '../auth/guards';
import { Free } from '../cost/hints';
import { badInput } from '../errors';
import { PlanCode } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';

@ObjectType({ description: 'The burst bucket: cost units per second' })
export class BurstStatus {
  @Field(() => Int)
  limit!: number;

  @Field(() => Int)
  remaining!: number;

  @Field(() => Int, { description: 'Milliseconds until the bucket refills' })
  resetInMs!: number;
}

@ObjectType({ description: 'Where the caller stands against its limits, in cost units. Querying it costs nothing.' })
export class RateLimitStatus {
  @Field(() => Int, { description: 'What this query cost: always 0' })
  cost!: number;

  @Field(() => Int, { description: 'Daily quota' })
  limit!: number;

  @Field(() => Int)
  used!: number;

  @Field(() => Int)
  remaining!: number;

  @Field(() => Date, { description: 'When the daily quota resets (UTC midnight)' })
  resetAt!: Date;

  @Field(() => BurstStatus)
  burst!: BurstStatus;

  @Field(() => PlanCode)
  plan!: PlanCode;

  @Field({ description: 'True while limits are enforced per process because Redis is unreachable' })
  degraded!: boolean;
}

@ObjectType({ description: 'An account crossed 80 % or 100 % of its daily quota' })
export class QuotaAlert {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  accountId!: string;

  @Field({ description: 'The UTC day, YYYY-MM-DD' })
  day!: string;

  @Field(() => Int, { description: 'Percent of the quota: 80 or 100' })
  threshold!: number;

  @Field(() => Int)
  usedUnits!: number;

  @Field(() => Int)
  quota!: number;

  @Field(() => Date)
  createdAt!: Date;
}

@Resolver()
export class RateLimitResolver {
  @Free()
  @Query(() => RateLimitStatus, { description: 'Your limits and what is left of them. Free of charge, like GitHub’s.' })
  async rateLimit(@Ctx() context: GatewayContext): Promise<RateLimitStatus> {
    const { access } = viewerOf(context);
    const { burst, daily } = await context.services.limits.status(access);
    return {
      cost: 0,
      limit: daily.limit,
      used: daily.used,
      remaining: daily.remaining,
      resetAt: daily.resetAt,
      burst,
      plan: access.plan.code,
      degraded: context.services.limits.degraded(),
    };
  }

  @AdminOnly()
  @Query(() => [QuotaAlert], { description: 'Quota alerts of a UTC day (default today), newest first. ADMIN.' })
  async quotaAlerts(@Ctx() { services }: GatewayContext, @Arg('day', () => String, { nullable: true }) day?: string): Promise<QuotaAlert[]> {
    const date = day ?? new Date().toISOString().slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) throw badInput('day must be a date, YYYY-MM-DD', { fields: ['day'] });
    const rows = await services.quotaAlerts.list(date);
    return rows.map((row) => ({ ...row, day: row.day.toISOString().slice(0, 10) }));
  }
}
