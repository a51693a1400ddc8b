/**
 * The portal talks only to the public GraphQL API, with the signed-in key. Errors become an
 * ApiError carrying what the gateway said: HTTP status, code (UNAUTHENTICATED, FORBIDDEN,
 * RATE_LIMITED, QUOTA_EXCEEDED, ...), and for 429s when to come back.
 */

export const GRAPHQL_PATH = '/graphql';

export interface ApiErrorInfo {
  status: number;
  code: string;
  message: string;
  /** QUOTA_EXCEEDED: when the daily quota resets (ISO time). */
  resetAt?: string;
  /** RATE_LIMITED: seconds until the burst bucket allows another request. */
  retryAfterSeconds?: number;
  /** QUOTA_EXCEEDED: the plan that would allow more, if any. */
  upgradeTo?: string | null;
}

export class ApiError extends Error implements ApiErrorInfo {
  readonly status: number;
  readonly code: string;
  readonly resetAt?: string;
  readonly retryAfterSeconds?: number;
  readonly upgradeTo?: string | null;

  constructor(info: ApiErrorInfo) {
    super(info.message);
    this.name = 'ApiError';
    this.status = info.status;
    this.code = info.code;
    this.resetAt = info.resetAt;
    this.retryAfterSeconds = info.retryAfterSeconds;
    this.upgradeTo = info.upgradeTo;
  }

  get isRateLimit(): boolean {
    return this.status === 429;
  }

  /** When the caller may try again, if the gateway said. */
  retryAt(receivedAt = Date.now()): Date | undefined {
    if (this.resetAt) return new Date(this.resetAt);
    if (this.retryAfterSeconds !== undefined) return new Date(receivedAt + this.retryAfterSeconds * 1000);
    return undefined;
  }
}

const STATUS_OF_CODE: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  QUERY_TOO_COMPLEX: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/** Where the account stands, from `extensions.cost` of the last metered response. */
export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number;
  quota?: { limit: number; remaining: number; resetAt: string };
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; resetAt?: string; retryAfterSeconds?: number; upgradeTo?: string | null; [name: string]: unknown };
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
  extensions?: { cost?: CostExtension };
}

export interface ApiEvents {
  /** Every response with `extensions.cost` (the header's quota chip listens). */
  onCost?(cost: CostExtension): void;
  /** Every error (the shell signs out on 401 and shows a banner on 429). */
  onError?(error: ApiError): void;
}

export function authHeaders(key: string | null): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

function toApiError(status: number, error: GraphQLErrorBody, retryAfterHeader: string | null): ApiError {
  const code = error.extensions?.code ?? (status === 401 ? 'UNAUTHENTICATED' : 'ERROR');
  const header = retryAfterHeader !== null && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
  return new ApiError({
    status: status >= 400 ? status : (STATUS_OF_CODE[code] ?? status),
    code,
    message: error.message,
    resetAt: error.extensions?.resetAt,
    retryAfterSeconds: error.extensions?.retryAfterSeconds ?? (code === 'RATE_LIMITED' ? header : undefined),
    upgradeTo: error.extensions?.upgradeTo,
  });
}

/**
 * POSTs one operation. Resolves with `data` when the operation produced it; field-level errors in
 * an otherwise good response (e.g. a field the plan does not include) are left to the view.
 */
export async function graphqlRequest<T>(key: string | null, query: string, variables: Record<string, unknown> = {}, events: ApiEvents = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders(key) },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    const error = new ApiError({ status: 0, code: 'NETWORK', message: 'Cannot reach the gateway. Check your connection and try again.' });
    events.onError?.(error);
    throw error;
  }
  let body: GraphQLBody<T>;
  try {
    body = (await response.json()) as GraphQLBody<T>;
  } catch {
    const error = new ApiError({ status: response.status, code: 'BAD_RESPONSE', message: `The gateway answered ${response.status} without a GraphQL body.` });
    events.onError?.(error);
    throw error;
  }
  if (body.extensions?.cost) events.onCost?.(body.extensions.cost);
  const data = body.data;
  const allNull = data !== null && data !== undefined && typeof data === 'object' && Object.values(data).every((value) => value === null);
  if (body.errors?.length && (response.status >= 400 || data === null || data === undefined || allNull)) {
    const error = toApiError(response.status, body.errors[0], response.headers.get('retry-after'));
    events.onError?.(error);
    throw error;
  }
  if (!response.ok || data === null || data === undefined) {
    const error = new ApiError({ status: response.status, code: 'ERROR', message: `The gateway answered ${response.status}.` });
    events.onError?.(error);
    throw error;
  }
  return data;
}

/** ws(s)://host/graphql for a page at `pageUrl`, for graphql-ws. */
export function websocketUrl(pageUrl: { protocol: string; host: string }): string {
  return `${pageUrl.protocol === 'https:' ? 'wss:' : 'ws:'}//${pageUrl.host}${GRAPHQL_PATH}`;
}
