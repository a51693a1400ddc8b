import { z } from 'zod';
import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { viewerOf } from '../auth/guards';
import { Free } from '../cost/hints';
import { badInput } from '../errors';
import { UsageGranularity } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';
import type { PrismaClient } from '../generated/prisma/client';
import { bucketEnd, bucketStart, catchUpRollups } from './rollups';

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

const MAX_BUCKETS = 24 * 93;

async function usageOf(prisma: PrismaClient, accountId: string, from: Date, to: Date, granularity: UsageGranularity): Promise<UsageBucket[]> {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) throw badInput('from must be before to', { fields: ['from', 'to'] });
  const first = bucketStart(from, granularity);
  const count = Math.ceil((to.getTime() - first.getTime()) / (bucketEnd(first, granularity).getTime() - first.getTime()));
  if (count > MAX_BUCKETS) throw badInput(`at most ${MAX_BUCKETS} buckets per query; narrow the range or use DAY`, { fields: ['from', 'to'] });
  await catchUpRollups(prisma, accountId);
  const rows = await prisma.usageRollup.findMany({
    where: { accountId, granularity, bucketStart: { gte: first, lt: to } },
    orderBy: { bucketStart: 'asc' },
  });
  return rows.map((row) => ({
    start: row.bucketStart,
    end: bucketEnd(row.bucketStart, granularity),
    requests: row.requests,
    costUnits: row.costUnits,
    reportedUnits: row.reportedUnits,
    pendingUnits: row.costUnits - row.reportedUnits,
  }));
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
    return usageOf(context.services.db.prisma, viewerOf(context).key.accountId, from, to, granularity);
  }

  @AdminOnly()
  @Free()
  @Query(() => [UsageBucket], { description: 'Any account’s usage. ADMIN.' })
  accountUsage(
    @Ctx() context: GatewayContext,
    @Arg('accountId', () => ID) accountId: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('granularity', () => UsageGranularity, { defaultValue: 'DAY' }) granularity: UsageGranularity,
  ): Promise<UsageBucket[]> {
    if (!z.uuid().safeParse(accountId).success) throw badInput('accountId is not an account id', { fields: ['accountId'] });
    return usageOf(context.services.db.prisma, accountId, from, to, granularity);
  }
}
