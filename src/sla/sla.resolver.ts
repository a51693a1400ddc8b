import { Arg, Ctx, Field, Float, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { viewerOf } from '../auth/guards';
import { notFound } from '../errors';
import { Free } from '../cost/hints';
import type { GatewayContext } from '../gateway/context';
import { LATENCY_BOUNDS_MS } from './buckets';
import type { SlaFigures } from './service';

@ObjectType({ description: 'What one operation (its root fields) was served in the month' })
export class OperationSla {
  @Field({ description: 'The root fields, sorted and joined by ","; "-" for requests refused before their operation was known' })
  operation!: string;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int, { description: 'Answers that were the server’s fault (HTTP 5xx)' })
  serverErrors!: number;

  @Field(() => Int, { nullable: true, description: 'Median latency: at most this many ms (a bucket bound; null above the last bound)' })
  p50Ms!: number | null;

  @Field(() => Int, { nullable: true })
  p95Ms!: number | null;

  @Field(() => Int, { nullable: true, description: '99th percentile latency: at most this many ms' })
  p99Ms!: number | null;

  @Field(() => [Int], { description: 'Requests per latency bucket (bounds in SlaReport.latencyBoundsMs, then one above the last)' })
  latencyBuckets!: number[];
}

@ObjectType({ description: 'The service credit a month below the plan’s availability promise earned' })
export class SlaCreditView {
  @Field(() => Int, { description: 'Credited to the Stripe customer balance, in the smallest currency unit' })
  amountCents!: number;

  @Field()
  currency!: string;

  @Field(() => Float)
  availability!: number;

  @Field(() => Float)
  promised!: number;

  @Field(() => String, { nullable: true, description: 'Set once Stripe has it (null while billing is off or the account has no Stripe customer)' })
  stripeBalanceTransactionId!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({ description: 'Service level of an account in one UTC month, from every gateway’s own counts of every answered request' })
export class SlaReport {
  @Field({ description: 'YYYY-MM (UTC)' })
  month!: string;

  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int)
  serverErrors!: number;

  @Field(() => Float, { nullable: true, description: 'Answers that were not the server’s fault over all answers (0-1); null without requests' })
  availability!: number | null;

  @Field(() => String, { nullable: true, description: 'What the account’s plan promises' })
  promise!: string | null;

  @Field(() => [Int])
  latencyBoundsMs!: number[];

  @Field(() => [OperationSla])
  operations!: OperationSla[];

  @Field(() => SlaCreditView, {
    nullable: true,
    description: 'The service credit this month earned (issued after the month, by `tollgraph billing sla-credits`)',
  })
  credit!: SlaCreditView | null;
}

async function reportOf(context: GatewayContext, accountId: string, month: string): Promise<SlaReport> {
  const { accounts, sla } = context.services;
  const access = await accounts.access(accountId);
  if (!access) throw notFound('account');
  const figures: SlaFigures = await sla.report(accountId, month);
  return { ...figures, promise: access.plan.sla, latencyBoundsMs: [...LATENCY_BOUNDS_MS], credit: await sla.credit(accountId, month) };
}

@Resolver()
export class SlaResolver {
  @Free()
  @Query(() => SlaReport, {
    description: 'Your service level in a UTC month (YYYY-MM): availability and latency per operation, beside what your plan promises. Free of charge.',
  })
  slaReport(@Ctx() context: GatewayContext, @Arg('month') month: string): Promise<SlaReport> {
    return reportOf(context, viewerOf(context).key.accountId, month);
  }

  @AdminOnly()
  @Free()
  @Query(() => SlaReport, { description: 'Any account’s service level in a UTC month. ADMIN.' })
  async accountSlaReport(@Ctx() context: GatewayContext, @Arg('accountId', () => ID) accountId: string, @Arg('month') month: string): Promise<SlaReport> {
    // An id an admin typed, checked as an id (access() takes verified keys' ids only, unchecked: it is on every request's path).
    if (!(await context.services.accounts.find(accountId))) throw notFound('account');
    return reportOf(context, accountId, month);
  }
}
