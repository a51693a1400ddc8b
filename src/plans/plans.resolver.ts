import { Ctx, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from '../gateway/context';
import { Plan } from './plan.types';
import { listPlans } from './service';

@Resolver(() => Plan)
export class PlansResolver {
  @Query(() => [Plan], { description: 'The plans on offer, cheapest first. Public.' })
  plans(@Ctx() { services }: GatewayContext): Promise<Plan[]> {
    return listPlans(services.db.prisma);
  }
}
