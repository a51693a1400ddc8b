import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { AdminOnly, Public } from '../auth/access';
import { Free } from '../cost/hints';
import { viewerOf } from '../auth/guards';
import { actorOf } from '../auth/viewer';
import { PlanCode } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';
import { Plan, UpdatePlanInput } from './plan.types';

@Resolver(() => Plan)
export class PlansResolver {
  @Public()
  @Free()
  @Query(() => [Plan], { description: 'The plans on offer, cheapest first. Public.' })
  plans(@Ctx() { services }: GatewayContext): Promise<Plan[]> {
    return services.plans.list();
  }

  @AdminOnly()
  @Mutation(() => Plan, { description: 'Edits a plan; every account on it gets the new limits within moments. ADMIN.' })
  updatePlan(
    @Ctx() context: GatewayContext,
    @Arg('code', () => PlanCode) code: PlanCode,
    @Arg('input', () => UpdatePlanInput) input: UpdatePlanInput,
  ): Promise<Plan> {
    return context.services.plans.update(code, { ...input }, actorOf(viewerOf(context), context.requestId));
  }
}
