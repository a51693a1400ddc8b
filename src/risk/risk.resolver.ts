import { Arg, Ctx, ID, Int, Query, Resolver, Root, Subscription, type PubSub } from 'type-graphql';
import { RequiresGrant, requireGrant } from '../auth/entitlements';
import { CUSTOMER_RISK_SCORES } from '../catalog/customer-risk-scores';
import { ProductField } from '../catalog/product-fields';
import { Cost } from '../cost/hints';
import { badInput } from '../errors';
import { RiskBand } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';
import { page } from '../graphql/connection';
import { GRANTS } from '../plans/defaults';
import { historyCursor } from './service';
import { RiskScore, RiskScoreConnection, toRiskScore, toTransactionRisk, TransactionRisk } from './risk.types';
import type { RiskScoreView } from './view';

const MAX_CUSTOMERS = 100;
const MAX_HISTORY_PAGE = 500;
const MAX_TOP = 100;
const MAX_SUBSCRIBED_CUSTOMERS = 1_000;

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw badInput(`${name} must be between 1 and ${max}`, { fields: [name] });
}

/**
 * type-graphql wants a PubSub as soon as a schema has a subscription, even when every
 * subscription brings its own `subscribe` (ours read live scores through ctx.services).
 */
export const SUBSCRIBE_ONLY: PubSub = {
  publish: () => undefined,
  subscribe: () => {
    throw new Error('subscriptions here bring their own subscribe function');
  },
};

/** Every root field here serves the customer-risk-scores data product: readable through a plan that includes it, or its add-on. */
const RiskScores = () => ProductField(CUSTOMER_RISK_SCORES.slug);

@Resolver(() => RiskScore)
export class RiskResolver {
  @RiskScores()
  @Query(() => RiskScore, { nullable: true, description: 'The latest score of a customer (null if the customer has none yet)' })
  async riskScore(@Ctx() { services }: GatewayContext, @Arg('customerId', () => ID) customerId: string): Promise<RiskScore | null> {
    const view = await services.risk.latest(customerId);
    return view && toRiskScore(view);
  }

  @Cost({ slicingArguments: ['customerIds'] })
  @RiskScores()
  @Query(() => [RiskScore], {
    nullable: 'items',
    description: `Latest scores of up to ${MAX_CUSTOMERS} customers, in the order asked (null for one without a score)`,
  })
  async riskScores(@Ctx() { services }: GatewayContext, @Arg('customerIds', () => [ID]) customerIds: string[]): Promise<Array<RiskScore | null>> {
    if (customerIds.length > MAX_CUSTOMERS) throw badInput(`customerIds takes at most ${MAX_CUSTOMERS} ids`, { fields: ['customerIds'] });
    return (await services.risk.latestMany(customerIds)).map((view) => view && toRiskScore(view));
  }

  @RequiresGrant(GRANTS.riskHistory)
  @Cost({ slicingArguments: ['first'], sizedFields: ['nodes'] })
  @RiskScores()
  @Query(() => RiskScoreConnection, { description: 'A customer’s scores, newest first; `from` inclusive, `to` exclusive (event time)' })
  async riskHistory(
    @Ctx() { services }: GatewayContext,
    @Arg('customerId', () => ID) customerId: string,
    @Arg('from', () => Date, { nullable: true }) from: Date | null,
    @Arg('to', () => Date, { nullable: true }) to: Date | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'pageInfo.endCursor of the previous page' }) after: string | null,
  ): Promise<RiskScoreConnection> {
    checkRange('first', first, MAX_HISTORY_PAGE);
    const { nodes, hasNextPage } = await services.risk.history(customerId, { from, to, first, after });
    return page(nodes.map(toRiskScore), hasNextPage, (node) => historyCursor(node));
  }

  @Cost({ slicingArguments: ['first'] })
  @RiskScores()
  @Query(() => [RiskScore], { description: 'Customers whose latest score is in minBand or above, highest first' })
  async topRisks(
    @Ctx() { services }: GatewayContext,
    @Arg('minBand', () => RiskBand, { defaultValue: RiskBand.HIGH }) minBand: RiskBand,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
  ): Promise<RiskScore[]> {
    checkRange('first', first, MAX_TOP);
    return (await services.risk.top(minBand, first)).map(toRiskScore);
  }

  @RiskScores()
  @Query(() => TransactionRisk, { nullable: true, description: 'The score one transaction got (null if it was not scored)' })
  async transactionRisk(@Ctx() { services }: GatewayContext, @Arg('eventId', () => ID) eventId: string): Promise<TransactionRisk | null> {
    const view = await services.risk.transaction(eventId);
    return view && toTransactionRisk(view);
  }

  @RiskScores()
  @Subscription(() => RiskScore, {
    description: 'Scores as the pipeline commits them (any gateway process), optionally only some customers and bands',
    subscribe: async ({ args, context }) => {
      const { customerIds, minBand } = args as { customerIds?: string[] | null; minBand?: RiskBand | null };
      if (customerIds && customerIds.length > MAX_SUBSCRIBED_CUSTOMERS) {
        throw badInput(`customerIds takes at most ${MAX_SUBSCRIBED_CUSTOMERS} ids`, { fields: ['customerIds'] });
      }
      await requireGrant(context as GatewayContext, GRANTS.riskLive);
      return (context as GatewayContext).services.risk.updates({ customerIds, minBand });
    },
  })
  riskScoreUpdated(
    @Root() view: RiskScoreView,
    @Arg('customerIds', () => [ID], { nullable: true }) _customerIds: string[] | null,
    @Arg('minBand', () => RiskBand, { nullable: true }) _minBand: RiskBand | null,
  ): RiskScore {
    return toRiskScore(view);
  }
}
