import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Negotiator from 'negotiator';
import proxyaddr from 'proxy-addr';
import { unauthenticated } from '../auth/access';
import { authenticate } from '../auth/authenticate';
import type { AuthState } from '../auth/viewer';
import { parseWithinLimits } from '../cost/shape';
import { errorBody, httpHeadOf, sendError, TollgraphError, type ErrorCode } from '../errors';
import { credentialParams } from '../keys/secret';
import type { KeyMemo } from '../keys/service';
import type { AdmissionControl, Admitted } from '../limits/overload';
import { receivedUrl, requestLogger } from '../ops/request-log';
import type { Services } from '../services';
import type { GatewayContext } from './context';
import { searchOf } from './apollo-middleware';
import type { Handler, HttpRequest } from './handler';
import { GuardedOperation } from './guard';
import { jsonBody } from './json-body';

/** A GraphQL request body larger than this is refused (413) before it is read in full. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Where GraphQL is served (HTTP and the WebSocket). */
export const GRAPHQL_PATH = '/graphql';

/**
 * A request for the GraphQL path: /graphql or below it, in any case (what express matched when it
 * mounted the route there).
 */
export function isGraphqlPath(url: string | undefined): boolean {
  if (url === undefined || url.length < GRAPHQL_PATH.length) return false;
  if (!url.startsWith(GRAPHQL_PATH) && url.slice(0, GRAPHQL_PATH.length).toLowerCase() !== GRAPHQL_PATH) return false;
  const after = url[GRAPHQL_PATH.length];
  return after === undefined || after === '/' || after === '?';
}

/**
 * A browser opening /graphql (a GET without a query, asking for HTML first) gets the portal's
 * GraphiQL: Apollo's landing page loads from a CDN and is blank on a closed network.
 */
export const explorerRedirect: Handler = (req, res, next) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return next();
  if (new URLSearchParams(searchOf(req.url ?? '')).has('query')) return next();
  if (new Negotiator(req).mediaType(['application/json', 'text/html']) !== 'text/html') return next();
  res.statusCode = 302;
  res.setHeader('location', EXPLORER);
  res.end();
};
const EXPLORER = '/#/explorer';

/** Where keys go; a key anywhere else is refused before it is looked at (and never logged). */
export function keyInUrlError(names: string[]): TollgraphError {
  return new TollgraphError(
    'BAD_REQUEST',
    `API keys are not accepted in the URL (query parameter ${names.map((name) => `"${name}"`).join(', ')}): send the key as "Authorization: Bearer <key>" or "x-api-key: <key>" (on a WebSocket: in connection_init's payload). A key sent in a URL should be treated as exposed: revoke it.`,
  );
}

/** Proxies whose X-Forwarded-For is believed: a proxy on this host only. */
export const TRUSTED_PROXIES = 'loopback';
const trusted = proxyaddr.compile(TRUSTED_PROXIES);

/**
 * The client's address, on every transport (an HTTP request or a WebSocket upgrade): the peer's,
 * or (behind a trusted proxy) the one the proxy forwarded. Without an X-Forwarded-For header both
 * are the peer's, so the proxy walk is skipped.
 */
export const clientAddress = (req: IncomingMessage): string =>
  (req.headers['x-forwarded-for'] === undefined ? req.socket.remoteAddress : proxyaddr(req, trusted)) ?? 'unknown';

/** clientAddress, kept on the request. */
export const clientIpOf = (req: HttpRequest): string => (req.clientIp ??= clientAddress(req));

/** Each connection's last key and its hash (KeyService.verify), for as long as the connection lives. */
const keyMemos = new WeakMap<Socket, KeyMemo>();

function keyMemoOf(socket: Socket): KeyMemo {
  let memo = keyMemos.get(socket);
  if (!memo) keyMemos.set(socket, (memo = {}));
  return memo;
}

/**
 * Who is calling, from the request line and headers alone, before the body is read or parsed, in
 * this order: no credential in the URL; an address caught guessing keys is refused without a
 * lookup; the key is verified (a refused key: 401, counted against the address). A request without
 * a key is counted against its address's anonymous limit later (`anonymousWithinLimit`), once
 * admission under overload has not shed it.
 */
export function callerBeforeBody(services: Services): Handler {
  const { abuse, keys, accounts, edge } = services;
  const elsewhere = dedicatedPool(services.config.DEDICATED_ACCOUNTS);
  // One answer for every refused key (sendError serialises it once).
  const refused = unauthenticated();
  return async (req, res, next) => {
    try {
      const inUrl = credentialParams(receivedUrl(req));
      if (inUrl.length) throw keyInUrlError(inUrl);
      const clientIp = clientIpOf(req);
      const auth: AuthState = abuse.isBlocked(clientIp)
        ? { refused: 'BLOCKED' }
        : await authenticate(keys, accounts, req.headers, keyMemoOf(req.socket)).catch((error: unknown) => {
            requestLogger(req).error({ err: error }, 'could not verify the API key');
            throw new TollgraphError('SERVICE_UNAVAILABLE', 'Could not verify the API key right now; retry shortly.', { headers: { 'retry-after': '1' } });
          });
      edge?.observe(auth, req.headers);
      if (auth.refused) {
        requestLogger(req).info({ reason: auth.refused }, 'api key refused');
        await abuse.authenticationFailed(clientIp);
        throw refused;
      }
      const refusal = elsewhere(auth);
      if (refusal) throw refusal;
      res.locals.auth = auth;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * Dedicated capacity (DEDICATED_ACCOUNTS): a process that serves only some accounts refuses every
 * other caller, keyed or not, before the body is read, so no other tenant's load can reach it
 * however it is routed. The check answers the refusal, or undefined when the caller may be served here.
 */
export function dedicatedPool(accounts: readonly string[] | undefined): (auth: AuthState) => TollgraphError | undefined {
  if (!accounts) return () => undefined;
  const served = new Set(accounts);
  // One answer for every caller it refuses (sendError serialises it once).
  const refusal = new TollgraphError('FORBIDDEN', 'This gateway serves dedicated capacity for other accounts; send your requests to the shared endpoint.', {
    extensions: { reason: 'DEDICATED_CAPACITY' },
  });
  return (auth) => (auth.viewer && served.has(auth.viewer.access.account.id) ? undefined : refusal);
}

/**
 * Plan-aware admission (src/limits/overload.ts), still before the body is read: a saturated
 * process refuses the lowest tiers first with 503 OVERLOADED, and with a concurrency limit a
 * request waits here, body unread, for its turn. The admitted request holds its slot until its
 * answer is out (or its client leaves, which also takes a waiting one out of the queue).
 */
export function admissionBeforeBody(admission: AdmissionControl): Handler {
  return (_req, res, next) => {
    const access = res.locals.auth?.viewer?.access;
    let slot: Admitted;
    try {
      slot = access ? admission.admit(access.plan.code, access.account.id, access.limits.reservedConcurrency) : admission.admit('ANONYMOUS');
    } catch (error) {
      return next(error);
    }
    res.once('close', slot.release);
    if (slot.ready) slot.ready.then(() => next(), next);
    else next();
  };
}

/**
 * A request without a key counted against its address's anonymous limit (a Redis round trip):
 * after admission, so a request shed under overload (anonymous callers are shed first) costs
 * none, and is not counted against its address.
 */
export function anonymousWithinLimit(services: Services): Handler {
  const { abuse } = services;
  return (req, res, next) => {
    if (res.locals.auth?.viewer) return next();
    abuse.anonymousRequest(clientIpOf(req)).then(() => next(), next);
  };
}

// What documentWithinLimits decided per document text, so a repeated query costs a map lookup.
const verdicts = new Map<string, TollgraphError | null>();
const VERDICTS_KEPT = 1_000;
const VERDICT_MAX_CHARS = 8_192;

function verdictOn(query: string): TollgraphError | null {
  const known = verdicts.get(query);
  if (known !== undefined) return known;
  let verdict: TollgraphError | null = null;
  try {
    parseWithinLimits(query);
  } catch (error) {
    if (!(error instanceof TollgraphError)) throw error;
    verdict = error;
  }
  if (query.length <= VERDICT_MAX_CHARS) {
    if (verdicts.size >= VERDICTS_KEPT) verdicts.delete(verdicts.keys().next().value!);
    verdicts.set(query, verdict);
  }
  return verdict;
}

/**
 * The document parsed within the token limit and its shape checked (src/cost/shape.ts) before
 * Apollo validates it: validation compares fields pairwise and walks every fragment expansion, so
 * a document it would choke on is refused here, in time linear in its text. (Apollo parses it again
 * on a miss of its own document cache; a throw from its validation hooks would be a 500.)
 */
export function documentWithinLimits(): Handler {
  return (req, res, next) => {
    const query: unknown = req.method === 'GET' ? onlyQueryParam(req) : (req.body as { query?: unknown } | undefined)?.query;
    const refusal = typeof query === 'string' ? verdictOn(query) : null;
    if (!refusal) return next();
    const status = requestErrorStatus(req.headers.accept, httpHeadOf(refusal).status, [refusal]);
    sendError(res, refusal, status);
  };
}

/**
 * A GET request's `query` parameter, read with URLSearchParams as Apollo reads it (undefined unless
 * given exactly once), and the request's URL rewritten to the parameters read: Apollo then parses
 * the same text, so the document checked here is the document it runs. (Express's own query
 * parser stops after 1,000 parameters; a query behind 1,000 empty ones went unchecked.)
 */
function onlyQueryParam(req: HttpRequest): string | undefined {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  if (at === -1) return undefined;
  const params = new URLSearchParams(url.slice(at + 1));
  req.url = `${url.slice(0, at)}?${params}`;
  const values = params.getAll('query');
  return values.length === 1 ? values[0] : undefined;
}

/** The JSON body of a GraphQL request, bounded. */
export const graphqlBody = (): Handler => jsonBody(MAX_BODY_BYTES);

const BODY_ERRORS: Record<number, ErrorCode> = { 413: 'PAYLOAD_TOO_LARGE', 415: 'BAD_REQUEST', 400: 'BAD_REQUEST' };

/**
 * Every error answered outside GraphQL execution is GraphQL-shaped JSON: a body that is not JSON,
 * too large, a refused caller, or a bug. Never an HTML page or a stack trace, whatever NODE_ENV.
 */
export const jsonErrors = (error: unknown, req: HttpRequest, res: ServerResponse, _next?: unknown) => {
  if (error instanceof GraphQLError) return sendError(res, error);
  const status = (error as { status?: number }).status;
  const code = status ? BODY_ERRORS[status] : undefined;
  if (code)
    return sendError(
      res,
      new TollgraphError(
        code,
        code === 'PAYLOAD_TOO_LARGE'
          ? `The request body is larger than ${MAX_BODY_BYTES} bytes.`
          : `The request body could not be read: ${(error as Error).message}.`,
      ),
    );
  requestLogger(req).error({ err: error }, 'unexpected error answering the request');
  sendError(res, new TollgraphError('INTERNAL_SERVER_ERROR', 'Internal server error'));
};

/** A document that could not be parsed, validated or given its variables (no path: not a field's error). */
const REQUEST_ERRORS = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);
const isRequestError = (error: GraphQLError) => !error.path && REQUEST_ERRORS.has(String(error.extensions.code));
const JSON_TYPES = ['application/json', 'application/graphql-response+json'];

/**
 * GraphQL over HTTP: an `application/json` answer uses 200 for GraphQL request errors too (what
 * clients of that media type expect); `application/graphql-response+json` keeps the 4xx. The media
 * type is the one Apollo answers with (the same negotiation, no Accept meaning application/json).
 */
export function requestErrorStatus(
  accept: string | undefined,
  status: number | undefined,
  errors: ReadonlyArray<GraphQLError> | undefined,
): number | undefined {
  if (status !== 400 || !errors?.length || !errors.every(isRequestError)) return status;
  const mediaType = accept ? new Negotiator({ headers: { accept } }).mediaType(JSON_TYPES) : 'application/json';
  return mediaType === 'application/json' ? 200 : status;
}

/**
 * The guard on Apollo's HTTP request path: the operation is admitted before execution and settled
 * after it (src/gateway/guard.ts).
 */
export function guardPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let guarded: GuardedOperation | undefined;
      return {
        async didResolveOperation({ operation, schema, document, request, contextValue }) {
          // Apollo refuses a document without a resolvable operation before this hook.
          if (!operation) return;
          guarded = new GuardedOperation({ transport: 'http', schema, document, operation, variables: request.variables ?? {}, context: contextValue });
          await guarded.admit();
        },
        async willSendResponse({ request, response, errors }) {
          // Answers are per key and metered: no cache along the way may keep one (what Apollo's
          // cache-control plugin answered for a schema without cache hints, at a hook on every field).
          response.http.headers.set('cache-control', 'no-store');
          response.http.status = requestErrorStatus(request.http?.headers.get('accept'), response.http.status, errors);
          if (!guarded || response.body.kind !== 'single') return;
          const { headers, cost, withheld } = await guarded.settle(response.body.singleResult);
          for (const [name, value] of Object.entries(headers)) response.http.headers.set(name, value);
          if (withheld) {
            const head = httpHeadOf(withheld);
            response.http.status = head.status;
            for (const [name, value] of head.headers) response.http.headers.set(name, value);
            response.body.singleResult = errorBody(withheld);
          }
          if (cost) response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost };
        },
      };
    },
  };
}
