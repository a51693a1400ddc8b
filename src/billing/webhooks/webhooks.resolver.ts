import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, Field, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { AdminOnly } from '../../auth/access';
import { viewerOf } from '../../auth/guards';
import { actorOf } from '../../auth/viewer';
import { Me } from '../../auth/me.resolver';
import { Cost } from '../../cost/hints';
import { badInput, TollgraphError } from '../../errors';
import { PlanCode, StripeEventStatus, SubscriptionStatus } from '../../generated/prisma/enums';
import type { GatewayContext } from '../../gateway/context';
import { Connection, page } from '../../graphql/connection';
import { eventCursor } from './service';

registerEnumType(StripeEventStatus, {
  name: 'StripeEventStatus',
  description:
    'RECEIVED (being applied), PROCESSED (applied), FAILED (not applied: Stripe retries, an admin can re-apply), IGNORED (a type or object Tollgraph does not act on)',
});
registerEnumType(SubscriptionStatus, { name: 'SubscriptionStatus', description: 'A Stripe subscription status, spelled as Stripe spells it' });

@ObjectType({ description: 'A Stripe webhook event as received and stored (ADMIN)' })
export class StripeEventRecord {
  @Field(() => ID, { description: 'Stripe’s event id (evt_…)' })
  id!: string;

  @Field({ description: 'e.g. customer.subscription.updated' })
  type!: string;

  @Field(() => StripeEventStatus)
  status!: StripeEventStatus;

  @Field(() => String, { nullable: true, description: 'Why it could not be applied' })
  error!: string | null;

  @Field(() => Int, { description: 'How many times it was applied or tried' })
  attempts!: number;

  @Field(() => String, { nullable: true, description: 'Id of the event’s object (sub_…, in_…, cs_…)' })
  objectId!: string | null;

  @Field(() => String, { nullable: true, description: 'The Stripe subscription it is about' })
  stripeSubscriptionId!: string | null;

  @Field()
  livemode!: boolean;

  @Field(() => Date, { description: 'When it happened at Stripe (event.created)' })
  stripeCreatedAt!: Date;

  @Field(() => Date)
  receivedAt!: Date;

  @Field(() => Date, { nullable: true })
  processedAt!: Date | null;

  @Field(() => GraphQLJSON, { description: 'The whole event as Stripe sent it' })
  payload!: unknown;
}

@ObjectType()
export class StripeEventConnection extends Connection(StripeEventRecord) {}

@ObjectType({ description: 'The Stripe subscription behind the account’s plan' })
export class BillingSubscription {
  @Field(() => String, { nullable: true })
  stripeSubscriptionId!: string | null;

  @Field(() => PlanCode, { description: 'The plan subscribed to' })
  planCode!: PlanCode;

  @Field(() => SubscriptionStatus)
  status!: SubscriptionStatus;

  @Field(() => Date, { nullable: true })
  currentPeriodEnd!: Date | null;

  @Field()
  cancelAtPeriodEnd!: boolean;

  @Field(() => Date, { nullable: true })
  trialEnd!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Since when a payment is overdue' })
  pastDueSince!: Date | null;

  @Field(() => Date, { nullable: true, description: 'While past_due: when the plan’s limits give way to FREE limits unless a payment succeeds' })
  graceEndsAt!: Date | null;
}

const MAX_PAGE = 200;

@Resolver()
export class StripeWebhooksResolver {
  @AdminOnly()
  @Cost({ slicingArguments: ['first'], sizedFields: ['nodes'] })
  @Query(() => StripeEventConnection, { description: 'Stripe webhook events, newest first; `status: FAILED` lists those that need attention. ADMIN.' })
  async stripeEvents(
    @Ctx() { services }: GatewayContext,
    @Arg('status', () => StripeEventStatus, { nullable: true }) status?: StripeEventStatus,
    @Arg('type', () => String, { nullable: true, description: 'Only events of this type' }) type?: string,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number = 50,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<StripeEventConnection> {
    if (first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}`, { fields: ['first'] });
    const { events, hasNextPage } = await services.stripeWebhooks.list({
      status: status ?? undefined,
      type: type ?? undefined,
      first,
      after: after ?? undefined,
    });
    return page(events, hasNextPage, eventCursor);
  }

  @AdminOnly()
  @Mutation(() => StripeEventRecord, {
    description:
      'Applies a stored Stripe event again, e.g. after fixing what made it fail. Safe to repeat: the subscription is re-derived from all of its events. Returns the event with its new status (FAILED with the reason if it still cannot be applied). ADMIN.',
  })
  async reapplyStripeEvent(@Ctx() context: GatewayContext, @Arg('id', () => ID) id: string): Promise<StripeEventRecord> {
    const viewer = viewerOf(context);
    if (!/^evt_\w+$/.test(id)) throw badInput('id must be a Stripe event id (evt_…)', { fields: ['id'] });
    return context.services.stripeWebhooks.reapply(id, actorOf(viewer, context.requestId));
  }
}

@Resolver(() => Me)
export class MeSubscriptionResolver {
  @FieldResolver(() => BillingSubscription, { nullable: true, description: 'The Stripe subscription your plan comes from, if any' })
  async subscription(@Ctx() context: GatewayContext): Promise<BillingSubscription | null> {
    const { access } = viewerOf(context);
    try {
      return await context.services.billing.subscriptionOf(access.account.id);
    } catch {
      throw new TollgraphError('SERVICE_UNAVAILABLE', 'Subscription details are unavailable right now; retry shortly.', { fieldLevel: true });
    }
  }
}
