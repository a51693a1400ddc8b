import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { Cost } from '../cost/hints';
import { mayAccessAccount, viewerOf } from '../auth/guards';
import { actorOf } from '../auth/viewer';
import type { Account as AccountRow } from '../generated/prisma/client';
import { PlanCode } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';
import { page } from '../graphql/connection';
import { idCursor, idCursorOf } from '../graphql/cursor';
import { Plan } from '../plans/plan.types';
import { Account, AccountConnection, CreateAccountInput, LimitOverrides, Limits, PlanOverridesInput } from './account.types';
import { badInput } from '../errors';
import { effectiveLimits } from './service';

const MAX_PAGE = 200;

function pageSize(first: number): number {
  if (first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}`, { fields: ['first'] });
  return first;
}

@Resolver(() => Account)
export class AccountsResolver {
  @AdminOnly()
  @Cost({ slicingArguments: ['first'], sizedFields: ['nodes'] })
  @Query(() => AccountConnection, { description: 'Every account, oldest first. ADMIN.' })
  async accounts(
    @Ctx() { services }: GatewayContext,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<AccountConnection> {
    const { accounts, hasNextPage } = await services.accounts.list({ first: pageSize(first), after: idCursor(after) });
    return page(accounts, hasNextPage, idCursorOf);
  }

  @Query(() => Account, { nullable: true, description: 'An account by id: any for ADMIN keys, only its own for subscribers.' })
  async account(@Ctx() context: GatewayContext, @Arg('id', () => ID) id: string): Promise<Account | null> {
    if (!mayAccessAccount(viewerOf(context), id)) return null;
    return context.services.accounts.find(id);
  }

  @AdminOnly()
  @Mutation(() => Account, { description: 'ADMIN.' })
  createAccount(@Ctx() context: GatewayContext, @Arg('input', () => CreateAccountInput) input: CreateAccountInput): Promise<Account> {
    return context.services.accounts.create(input, actorOf(viewerOf(context), context.requestId));
  }

  @AdminOnly()
  @Mutation(() => Account, { description: 'Moves an account to another plan; every gateway applies it within moments. ADMIN.' })
  setAccountPlan(
    @Ctx() context: GatewayContext,
    @Arg('accountId', () => ID) accountId: string,
    @Arg('planCode', () => PlanCode) planCode: PlanCode,
  ): Promise<Account> {
    return context.services.accounts.setPlan(accountId, planCode, actorOf(viewerOf(context), context.requestId));
  }

  @AdminOnly()
  @Mutation(() => Account, { description: 'Per-account limits on top of the plan (Enterprise contracts). ADMIN.' })
  setAccountOverrides(
    @Ctx() context: GatewayContext,
    @Arg('accountId', () => ID) accountId: string,
    @Arg('input', () => PlanOverridesInput) input: PlanOverridesInput,
  ): Promise<Account> {
    return context.services.accounts.setOverrides(accountId, { ...input }, actorOf(viewerOf(context), context.requestId));
  }

  @FieldResolver(() => Plan)
  plan(@Root() account: Account, @Ctx() { services }: GatewayContext): Promise<Plan> {
    return services.plans.get(account.planCode);
  }

  // Roots are account rows, reachable only through fields that already checked access.
  @FieldResolver(() => Limits, { description: 'The limits in force now' })
  async limits(@Root() account: AccountRow, @Ctx() { services }: GatewayContext): Promise<Limits> {
    return effectiveLimits(account, await services.plans.get(account.planCode));
  }

  @FieldResolver(() => LimitOverrides, { description: 'Overrides set for this account' })
  overrides(@Root() account: AccountRow): LimitOverrides {
    const { dailyQuota, burstPerSecond, maxQueryCost, maxDepth, reservedConcurrency } = account;
    return { dailyQuota, burstPerSecond, maxQueryCost, maxDepth, reservedConcurrency };
  }
}
