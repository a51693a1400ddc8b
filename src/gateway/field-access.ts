import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { accessOf, adminRequired, unauthenticated, type AccessLevel } from '../auth/access';
import type { GatewayContext } from './context';

function checkAccess(level: AccessLevel, context: GatewayContext | undefined): void {
  const viewer = context?.auth?.viewer;
  if (!viewer) throw unauthenticated();
  if (level === 'admin' && viewer.key.role !== 'ADMIN') throw adminRequired();
}

/**
 * Defence in depth: every root field that is not public checks its caller itself, when it
 * resolves (and when a subscription starts), so a path that skipped the guard (src/gateway/guard.ts)
 * still meets UNAUTHENTICATED or FORBIDDEN. Only root fields are wrapped: nothing is added to the
 * fields below them. Grant-gated fields check their grant at the field already (@RequiresGrant).
 */
export function enforceAccessAtRootFields(schema: GraphQLSchema): GraphQLSchema {
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      const level = accessOf(field);
      if (level === 'public') continue;
      const guard =
        (resolver: GraphQLFieldResolver<unknown, GatewayContext>): GraphQLFieldResolver<unknown, GatewayContext> =>
        (source, args, context, info) => {
          checkAccess(level, context);
          return resolver(source, args, context, info);
        };
      field.resolve = guard(field.resolve ?? defaultFieldResolver);
      if (field.subscribe) field.subscribe = guard(field.subscribe);
    }
  }
  return schema;
}
