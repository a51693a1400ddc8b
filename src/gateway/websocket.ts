import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, subscribe, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { authenticate } from '../auth/authenticate';
import type { AuthState } from '../auth/viewer';
import { parseWithinLimits } from '../cost/shape';
import { TollgraphError, withoutHttp } from '../errors';
import { credentialParams } from '../keys/secret';
import type { AdmissionControl } from '../limits/overload';
import type { Services } from '../services';
import type { GatewayContext } from './context';
import { GuardedOperation } from './guard';
import { clientAddress, dedicatedPool, GRAPHQL_PATH, keyInUrlError, MAX_BODY_BYTES } from './http';

/** Live feeds one connection may hold open at once. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 20;

interface Connection {
  auth: AuthState;
  reauthenticate: () => Promise<AuthState>;
}

const guardedByContext = new WeakMap<object, GuardedOperation>();

/** The document of a subscribe message, refused as cheaply as over HTTP: token and shape limits, then validation. */
function prepareDocument(schema: GraphQLSchema, query: string): DocumentNode | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parseWithinLimits(query);
  } catch (error) {
    if (error instanceof GraphQLError) return [withoutHttp(error)];
    throw error;
  }
  const errors = validate(schema, document);
  return errors.length
    ? errors.map((error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }))
    : document;
}

/**
 * graphql-ws on `/graphql`. A connection needs a valid key, in connection_init's payload
 * (`{ "authorization": "Bearer …" }` or `{ "x-api-key": … }`) or the upgrade request's headers;
 * a key in the URL is refused before the upgrade. Every subscribe message takes the same guard as
 * an HTTP request (src/gateway/guard.ts): queries and mutations are refused there (they belong on
 * HTTP), subscriptions are admitted by the same access and complexity checks and billed per event.
 */
export function websocketServer(httpServer: Server, schema: GraphQLSchema, services: Services, admission: AdmissionControl) {
  const { abuse, keys, accounts, logger } = services;
  const elsewhere = dedicatedPool(services.config.DEDICATED_ACCOUNTS);
  const sockets = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: MAX_BODY_BYTES,
    // Before the upgrade, as an HTTP request before its body: no key in the URL; an address caught
    // guessing keys is refused; and the upgrade (which carries no key yet: that comes in
    // connection_init) counts against the address's anonymous budget.
    verifyClient: ({ req }, answer) => {
      const inUrl = credentialParams(req.url ?? '');
      if (inUrl.length) return answer(false, 400, keyInUrlError(inUrl).message);
      const clientIp = clientAddress(req);
      if (abuse.isBlocked(clientIp)) return answer(false, 429, 'Too many failed authentications from this address.');
      abuse.anonymousRequest(clientIp).then(
        () => answer(true),
        (error: unknown) => answer(false, 429, error instanceof Error ? error.message : 'Too many requests without an API key from this address.'),
      );
    },
  });
  // biome-ignore lint/correctness/useHookAtTopLevel: graphql-ws's useServer is not a React hook
  return useServer<Record<string, unknown>, Partial<Connection>>(
    {
      schema,
      onConnect: async (ctx) => {
        const clientIp = clientAddress(ctx.extra.request);
        if (abuse.isBlocked(clientIp)) return false;
        const params = Object.fromEntries(Object.entries(ctx.connectionParams ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
        const credentials = { ...ctx.extra.request.headers, ...params };
        const reauthenticate = () => authenticate(keys, accounts, credentials);
        const auth = await reauthenticate().catch((error: unknown) => {
          logger.error({ err: error }, 'could not verify the API key of a WebSocket connection');
          return undefined;
        });
        if (auth?.refused) await abuse.authenticationFailed(clientIp).catch(() => undefined);
        if (!auth?.viewer) return false;
        // Another tenant's connection has no place on a dedicated pool (the socket closes with 4403).
        if (elsewhere(auth)) return false;
        Object.assign(ctx.extra, { auth, reauthenticate });
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [
            withoutHttp(
              new TollgraphError('RATE_LIMITED', `A connection holds at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} live feeds at once; complete one first.`),
            ),
          ];
        }
        // A live feed holds no request slot, but starting one under overload is shed like a request.
        try {
          admission.check(ctx.extra.auth?.viewer?.access.plan.code ?? 'ANONYMOUS');
        } catch (error) {
          if (error instanceof GraphQLError) return [withoutHttp(error)];
          throw error;
        }
        const document = prepareDocument(schema, payload.query);
        if (!('kind' in document)) return document;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [withoutHttp(new TollgraphError('BAD_REQUEST', 'Unable to identify the operation to run: name it with operationName.'))];
        const contextValue: GatewayContext = {
          requestId: randomUUID(),
          log: () => logger,
          services,
          clientIp: clientAddress(ctx.extra.request),
          auth: ctx.extra.auth ?? {},
          reauthenticate: ctx.extra.reauthenticate,
        };
        const variables = payload.variables ?? {};
        const guarded = new GuardedOperation({ transport: 'websocket', schema, document, operation, variables, context: contextValue });
        try {
          await guarded.admit();
        } catch (error) {
          if (error instanceof GraphQLError) return [withoutHttp(error)];
          throw error;
        }
        guardedByContext.set(contextValue, guarded);
        return { schema, document, operationName: payload.operationName, variableValues: variables, contextValue } satisfies ExecutionArgs;
      },
      subscribe: async (args) => {
        const guarded = guardedByContext.get(args.contextValue as object);
        if (!guarded) throw new Error('a subscription reached execution without passing the guard');
        const source = await subscribe(args);
        return Symbol.asyncIterator in source ? guarded.meter(source) : source;
      },
    },
    sockets,
  );
}
