import { GraphQLError } from 'graphql';
import type { ServerResponse } from 'node:http';
import type { z } from 'zod';

/** The public error codes (docs/contract.md) and the HTTP status each one answers with. */
export const ErrorCode = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  /** The request itself is wrong: not JSON, a key in the URL, an operation on the wrong transport. */
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  /** Not GraphQL, or longer than the token limit (Apollo's code). */
  GRAPHQL_PARSE_FAILED: 400,
  /** Not valid against the schema (Apollo's code). */
  GRAPHQL_VALIDATION_FAILED: 400,
  QUERY_TOO_COMPLEX: 400,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  /** The gateway process is saturated and sheds this caller's tier first (src/limits/overload.ts). */
  OVERLOADED: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCode;

export interface TollgraphErrorOptions {
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
  /**
   * A field-level error inside an otherwise good response (e.g. one field the plan does not
   * include): the response keeps HTTP 200 and the rest of its data.
   */
  fieldLevel?: boolean;
}

/**
 * The one error type resolvers and plugins throw. Apollo turns `extensions.http` into the
 * response status and headers; the rest of `extensions` reaches the client as is.
 */
export class TollgraphError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, { extensions = {}, headers = {}, fieldLevel = false }: TollgraphErrorOptions = {}) {
    // An answer to the client, never a fault to debug: no stack to capture (it was most of the
    // cost of a refusal under a flood). Faults keep theirs: they are logged as the errors they are.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message, {
        extensions: {
          ...extensions,
          code,
          ...(fieldLevel ? {} : { http: { status: ErrorCode[code], headers: new Map(Object.entries(headers)) } }),
        },
      });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.code = code;
    this.name = 'TollgraphError';
  }
}

/** What a client sees of an error where no HTTP response carries it (a WebSocket message): the HTTP head left out. */
export function withoutHttp(error: GraphQLError): GraphQLError {
  if (!('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { extensions });
}

/** The HTTP status and headers an error asks for (`extensions.http`), for answers made outside Apollo. */
export function httpHeadOf(error: GraphQLError): { status: number; headers: Map<string, string> } {
  const http = error.extensions.http as { status?: number; headers?: Map<string, string> } | undefined;
  return { status: http?.status ?? 500, headers: http?.headers ?? new Map() };
}

/** A GraphQL-shaped JSON body for an error answered before GraphQL runs (every error on /graphql is one). */
export function errorBody(error: GraphQLError): { errors: Array<{ message: string; extensions: Record<string, unknown> }> } {
  const { http: _http, ...extensions } = error.extensions;
  return { errors: [{ message: error.message, extensions }] };
}

interface PreparedAnswer {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * Each error's answer, serialised once: a refusal that does not vary (a shed tier, a pool that
 * serves other accounts) is one error object sent to every caller, so under a flood its body is
 * written, not rebuilt.
 */
const prepared = new WeakMap<GraphQLError, PreparedAnswer>();

function preparedAnswer(error: GraphQLError): PreparedAnswer {
  let answer = prepared.get(error);
  if (!answer) {
    const head = httpHeadOf(error);
    answer = { status: head.status, headers: [...head.headers], body: Buffer.from(JSON.stringify(errorBody(error))) };
    prepared.set(error, answer);
  }
  return answer;
}

/**
 * Answers an HTTP request (every route, not only /graphql) with `error` alone: its HTTP status
 * unless `status` says otherwise, its headers and its GraphQL-shaped JSON body. Written with
 * Node's own response methods: express's `res.json` re-serialised and re-inspected the body's
 * content type on every refusal.
 */
export function sendError(res: ServerResponse, error: GraphQLError, status?: number): void {
  const answer = preparedAnswer(error);
  for (const [name, value] of answer.headers) res.setHeader(name, value);
  res.statusCode = status ?? answer.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', answer.body.length);
  res.end(answer.body);
}

export const badInput = (message: string, extensions?: Record<string, unknown>) => new TollgraphError('BAD_USER_INPUT', message, { extensions });

/** Something the caller named does not exist (or is not theirs to see: the same answer, so ids cannot be probed). */
export const notFound = (what: string) => badInput(`${what} not found`);

/** Validates input with a zod schema; every problem is named in one BAD_USER_INPUT. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw badInput(result.error.issues.map((issue) => issue.message).join('; '), {
    fields: [...new Set(result.error.issues.map((issue) => issue.path.join('.')))],
  });
}
