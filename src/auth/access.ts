import type { GraphQLField } from 'graphql';
import { Extensions } from 'type-graphql';
import { TollgraphError } from '../errors';

/**
 * Who may call a root field, declared next to the resolver and enforced before execution by the
 * gateway's access plugin. Fields without a declaration need a valid key.
 */
export type AccessLevel = 'public' | 'subscriber' | 'publisher' | 'admin';

/** Answerable without an API key (health, plans). */
export const Public = () => Extensions({ access: 'public' satisfies AccessLevel });
/** Needs a key with role ADMIN. */
export const AdminOnly = () => Extensions({ access: 'admin' satisfies AccessLevel });
/** Needs a key with role ADMIN or PUBLISHER; the service then limits a PUBLISHER to its domains. */
export const PublisherOrAdmin = () => Extensions({ access: 'publisher' satisfies AccessLevel });

const LEVELS: readonly AccessLevel[] = ['public', 'publisher', 'admin'];

export function accessOf(field: GraphQLField<unknown, unknown> | undefined): AccessLevel {
  const access = field?.extensions?.access;
  return LEVELS.includes(access as AccessLevel) ? (access as AccessLevel) : 'subscriber';
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

export function publisherRequired(): TollgraphError {
  return new TollgraphError('FORBIDDEN', "This operation needs an API key with role PUBLISHER (of the product's domain) or ADMIN.");
}

/**
 * The role check of an access level, shared by the guard (before execution) and the root fields
 * themselves (field-access.ts), so the two cannot drift.
 */
export function roleRefusal(level: AccessLevel, role: string): TollgraphError | undefined {
  if (level === 'admin' && role !== 'ADMIN') return adminRequired();
  if (level === 'publisher' && role !== 'ADMIN' && role !== 'PUBLISHER') return publisherRequired();
  return undefined;
}
