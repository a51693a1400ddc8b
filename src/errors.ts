import { GraphQLError } from 'graphql';

/** The public error codes (API.md) and the HTTP status each one answers with. */
export const ErrorCode = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  QUERY_TOO_COMPLEX: 400,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCode;

/**
 * The one error type resolvers and plugins throw. Apollo turns `extensions.http.status` into the
 * response status; the rest of `extensions` reaches the client as is.
 */
export class TollgraphError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message, {
      extensions: {
        ...extensions,
        code,
        http: { status: ErrorCode[code], headers: new Map(Object.entries(headers)) },
      },
    });
    this.name = 'TollgraphError';
  }
}
