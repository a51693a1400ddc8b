import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import type { Logger } from '../../ops/logger';

/**
 * Expected errors (GraphQLError, our TollgraphError) reach the client as they are. Anything else is
 * a bug or an outage: log it with its stack, and answer with a message that leaks nothing.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof GraphQLError) return formatted;
    logger.error({ err: original, path: formatted.path }, 'unexpected error in resolver');
    return { message: 'Internal server error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
