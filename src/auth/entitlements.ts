import { Extensions, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { TollgraphError } from '../errors';
import type { GatewayContext } from '../gateway/context';
import type { Grant } from '../plans/defaults';

/** Throws the field-level FORBIDDEN unless the caller's plan includes `grant`. */
export async function requireGrant(context: GatewayContext, grant: Grant): Promise<void> {
  const viewer = context.auth.viewer;
  if (!viewer || viewer.access.plan.grants.includes(grant)) return;
  const upgrade = await context.services.plans.cheapestWith(grant);
  throw new TollgraphError(
    'FORBIDDEN',
    upgrade ? `Your plan (${viewer.access.plan.code}) does not include this field; it is part of ${upgrade.code}.` : `No plan includes this field (${grant}).`,
    { fieldLevel: true, extensions: { requiredGrant: grant, plan: viewer.access.plan.code, upgradeTo: upgrade?.code ?? null } },
  );
}

/**
 * Marks a field as part of a plan capability. A plan without the grant gets a field-level
 * FORBIDDEN naming the cheapest plan that has it; the rest of the response still resolves
 * (so such fields are nullable in the schema).
 */
export function RequiresGrant(grant: Grant): MethodDecorator & PropertyDecorator {
  const enforce: MiddlewareFn<GatewayContext> = async ({ context }, next) => {
    await requireGrant(context, grant);
    return next();
  };
  const mark = Extensions({ grant });
  const check = UseMiddleware(enforce);
  return (target: object, property: string | symbol, descriptor?: PropertyDescriptor) => {
    mark(target, property, descriptor as TypedPropertyDescriptor<unknown>);
    check(target, property, descriptor as TypedPropertyDescriptor<unknown>);
  };
}
