import type { GraphQLField } from 'graphql';
import { Extensions } from 'type-graphql';
import { TollgraphError } from '../errors';

/**
 * Who may call a root field, declared next to the resolver and enforced before execution by the
 * gateway's access plugin. Fields without a declaration need a valid key.
 */
export type AccessLevel = 'public' | 'subscriber' | 'admin';

/** Answerable without an API key (health, plans). */
export const Public = () => Extensions({ access: 'public' satisfies AccessLevel });
/** Needs a key with role ADMIN. */
export const AdminOnly = () => Extensions({ access: 'admin' satisfies AccessLevel });

export function accessOf(field: GraphQLField<unknown, unknown> | undefined): AccessLevel {
  const access = field?.extensions?.access;
  return access === 'public' || access === 'admin' ? access : 'subscriber';
}

/** One answer for every bad credential, so a caller cannot tell unknown from revoked or expired. */
export function unauthenticated(): TollgraphError {
  return new TollgraphError('UNAUTHENTICATED', 'A valid API key is required: send it as "Authorization: Bearer <key>" or "x-api-key: <key>".', {
    headers: { 'www-authenticate': 'Bearer realm="tollgraph"' },
  });
}

export function adminRequired(): TollgraphError {
  return new TollgraphError('FORBIDDEN', 'This operation needs an API key with role ADMIN.');
}
