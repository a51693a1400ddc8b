import { defaultFieldResolver, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { Extensions } from 'type-graphql';
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
 * (so such fields are nullable in the schema). Enforced by `enforceGrants`.
 */
export function RequiresGrant(grant: Grant): MethodDecorator & PropertyDecorator {
  return Extensions({ grant });
}

/**
 * Wraps every field marked with a grant in the check, where the schema is built. Synchronous while
 * the plan has the grant: a type-graphql middleware is async, so each score in a list of a hundred
 * (its `score` and `factors` are granted) cost two promises and the turns to settle them.
 */
export function enforceGrants(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const grant = field.extensions.grant as Grant | undefined;
      if (!grant) continue;
      const resolve: GraphQLFieldResolver<unknown, GatewayContext> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context: GatewayContext, info) => {
        const viewer = context.auth.viewer;
        if (!viewer || viewer.access.plan.grants.includes(grant)) return resolve(source, args, context, info);
        return requireGrant(context, grant).then(() => resolve(source, args, context, info));
      };
    }
  }
  return schema;
}
