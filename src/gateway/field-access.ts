import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { accessOf, roleRefusal, unauthenticated, type AccessLevel } from '../auth/access';
import { productOf } from '../catalog/product-fields';
import type { GatewayContext } from './context';

async function checkAccess(level: AccessLevel, product: string | undefined, context: GatewayContext | undefined): Promise<void> {
  const viewer = context?.auth?.viewer;
  if (!viewer) throw unauthenticated();
  const refusal = roleRefusal(level, viewer.key.role);
  if (refusal) throw refusal;
  if (product) await context.services.productAccess.admit({ role: viewer.key.role, access: viewer.access }, [product]);
}

/**
 * Defence in depth: every root field that is not public checks its caller itself, when it
 * resolves (and when a subscription starts), so a path that skipped the guard (src/gateway/guard.ts)
 * still meets UNAUTHENTICATED or FORBIDDEN, and a data product's field the caller may not read
 * its product's FORBIDDEN. Only root fields are wrapped: nothing is added to the
 * fields below them. Grant-gated fields check their grant at the field already (@RequiresGrant).
 */
export function enforceAccessAtRootFields(schema: GraphQLSchema): GraphQLSchema {
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      const level = accessOf(field);
      if (level === 'public') continue;
      const product = productOf(field);
      const guard =
        (resolver: GraphQLFieldResolver<unknown, GatewayContext>): GraphQLFieldResolver<unknown, GatewayContext> =>
        async (source, args, context, info) => {
          await checkAccess(level, product, context);
          return resolver(source, args, context, info);
        };
      field.resolve = guard(field.resolve ?? defaultFieldResolver);
      if (field.subscribe) field.subscribe = guard(field.subscribe);
    }
  }
  return schema;
}
