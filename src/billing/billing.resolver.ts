import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { Free } from '../cost/hints';
import { badInput } from '../errors';
import { viewerOf } from '../auth/guards';
import { actorOf } from '../auth/viewer';
import { PlanCode } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';

@ObjectType()
export class CheckoutSession {
  @Field({ description: 'Send the subscriber here to pay' })
  url!: string;
}

@ObjectType()
export class BillingPortalSession {
  @Field({ description: 'Send the subscriber here to manage payment methods, invoices and cancellation' })
  url!: string;
}

@Resolver()
export class BillingResolver {
  @Mutation(() => CheckoutSession, { description: 'Starts Stripe Checkout to subscribe the caller’s account to a paid plan.' })
  async createCheckoutSession(@Ctx() context: GatewayContext, @Arg('planCode', () => PlanCode) planCode: PlanCode): Promise<CheckoutSession> {
    const viewer = viewerOf(context);
    return { url: await context.services.billing.checkoutSession(viewer.access.account, planCode, actorOf(viewer, context.requestId)) };
  }

  @Mutation(() => CheckoutSession, {
    description: 'Starts Stripe Checkout to buy a data product as an add-on (by slug): once paid, the caller’s account reads the product whatever its plan.',
  })
  async createAddOnCheckoutSession(@Ctx() context: GatewayContext, @Arg('product', () => String) product: string): Promise<CheckoutSession> {
    const viewer = viewerOf(context);
    return { url: await context.services.billing.addOnCheckoutSession(viewer.access.account, product, actorOf(viewer, context.requestId)) };
  }

  @Mutation(() => BillingPortalSession, { description: 'Opens the Stripe billing portal for the caller’s account.' })
  async createBillingPortalSession(@Ctx() context: GatewayContext): Promise<BillingPortalSession> {
    return { url: await context.services.billing.billingPortalSession(viewerOf(context).access.account) };
  }
}

@ObjectType({ description: 'An hour where what Tollgraph reported and what Stripe’s meter holds differ' })
export class WindowDiscrepancy {
  @Field({ description: 'The Stripe meter (event name): the plans’, or a data product’s own' })
  meter!: string;

  @Field(() => Date)
  windowStart!: Date;

  @Field(() => Date)
  windowEnd!: Date;

  @Field(() => Int)
  reportedUnits!: number;

  @Field(() => Int)
  stripeUnits!: number;

  @Field()
  cause!: string;
}

/** The unit tallies every reconciliation reports. */
@ObjectType()
abstract class UnitsReconciled {
  @Field(() => Int)
  ledgerUnits!: number;

  @Field(() => Int)
  reportedUnits!: number;

  @Field(() => Int)
  pendingUnits!: number;

  @Field(() => Int)
  failedUnits!: number;

  @Field(() => Int)
  tooOldUnits!: number;
}

@ObjectType({ description: 'One data product’s units of an account (null product: fields of none), on one meter, by what became of them' })
export class ProductReconciliation extends UnitsReconciled {
  @Field(() => String, { nullable: true })
  product!: string | null;

  @Field({ description: 'The Stripe meter (event name) the units are reported on' })
  meter!: string;

  @Field(() => Int, { nullable: true, description: 'What the product’s own meter holds; null on the plans’ meter (Stripe sums it over every product)' })
  stripeUnits!: number | null;

  @Field(() => Int, { description: '0 when every unit is accounted for' })
  difference!: number;
}

@ObjectType({ description: 'One account’s ledger against what was reported to Stripe' })
export class AccountReconciliation extends UnitsReconciled {
  @Field(() => ID)
  accountId!: string;

  @Field(() => String, { nullable: true })
  stripeCustomerId!: string | null;

  @Field(() => Int, { nullable: true, description: 'What Stripe’s meter holds; null when Stripe was not asked' })
  stripeUnits!: number | null;

  @Field(() => Int, { description: '0 when every unit is accounted for' })
  difference!: number;

  @Field(() => [String])
  causes!: string[];

  @Field(() => [WindowDiscrepancy])
  windows!: WindowDiscrepancy[];

  @Field(() => [ProductReconciliation], { description: 'The same per data product and meter' })
  products!: ProductReconciliation[];
}

@ObjectType({ description: 'Usage sent (or to be sent) to Stripe as one meter event' })
export class MeterReportView {
  @Field(() => ID)
  id!: string;

  @Field()
  identifier!: string;

  @Field(() => ID)
  accountId!: string;

  @Field(() => Date)
  windowStart!: Date;

  @Field(() => Int)
  units!: number;

  @Field({ description: 'PENDING, SENT, FAILED or TOO_OLD' })
  status!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String, { nullable: true })
  lastError!: string | null;
}

@Resolver()
export class BillingAdminResolver {
  @AdminOnly()
  @Free()
  @Query(() => [AccountReconciliation], { description: 'Ledger against Stripe per account over [from, to). ADMIN.' })
  async billingReconciliation(
    @Ctx() { services }: GatewayContext,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
  ): Promise<AccountReconciliation[]> {
    return services.billing.reconcile(from, to);
  }

  @AdminOnly()
  @Free()
  @Query(() => [MeterReportView], { description: 'Meter reports that need attention (FAILED, TOO_OLD) or any status, newest first. ADMIN.' })
  meterReports(
    @Ctx() { services }: GatewayContext,
    @Arg('status', () => [String], { defaultValue: ['FAILED', 'TOO_OLD'] }) status: string[],
  ): Promise<MeterReportView[]> {
    const known = ['PENDING', 'SENT', 'FAILED', 'TOO_OLD'] as const;
    const wanted = status.filter((s): s is (typeof known)[number] => (known as readonly string[]).includes(s));
    if (wanted.length !== status.length) throw badInput(`status must be among ${known.join(', ')}`, { fields: ['status'] });
    return services.billing.meterReports(wanted);
  }
}
