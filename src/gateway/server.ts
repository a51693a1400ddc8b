import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { PARSE_OPTIONS } from '../cost/shape';
import { sendError, TollgraphError } from '../errors';
import type { Services } from '../services';
import type { GatewayContext } from './context';
import { apolloMiddleware } from './apollo-middleware';
import { enforceAccessAtRootFields } from './field-access';
import {
  admissionBeforeBody,
  anonymousWithinLimit,
  callerBeforeBody,
  clientIpOf,
  documentWithinLimits,
  explorerRedirect,
  GRAPHQL_PATH,
  graphqlBody,
  guardPlugin,
  isGraphqlPath,
  jsonErrors,
  TRUSTED_PROXIES,
} from './http';
import type { HttpRequest, HttpResponse } from './handler';
import { handlerChain } from './handler-chain';
import { overloadMetrics } from '../limits/metrics';
import { AdmissionControl, EventLoopDelay } from '../limits/overload';
import { opsRoutes } from './ops-routes';
import { receivedUrl, requestLogger, requestLogging } from '../ops/request-log';
import { portalRoutes } from '../portal/static';
import { stripeWebhookRoute } from '../billing/webhooks/route';
import { basicAuthAsKey, REGISTRY_PATH, registryErrors, registryRoutes } from '../catalog/registry/routes';
import { formatError } from './plugins/errors';
import { introspectionCachePlugin } from './plugins/introspection-cache';
import { metricsPlugin } from './plugins/metrics';
import { buildGatewaySchema } from './schema';
import { websocketServer } from './websocket';

export interface Gateway {
  httpServer: Server;
  /** Starts listening; resolves with the URL it listens on. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded), then stops Apollo. */
  stop(): Promise<void>;
}

/** What a path nothing serves is answered: one error, serialised once (sendError). */
const NOT_FOUND = new TollgraphError('NOT_FOUND', 'Not found.');
const notFound = (_req: unknown, res: ServerResponse) => sendError(res, NOT_FOUND);

export async function createGateway(services: Services): Promise<Gateway> {
  const { config, logger, metrics } = services;
  const app = express();
  // Replaced by the GraphQL route once Apollo has started (below), before the server listens.
  let graphqlRoute: (req: HttpRequest, res: HttpResponse) => void = notFound;
  // A client has HTTP_REQUEST_TIMEOUT_MS to send a whole request, headers and body (else 408 and
  // the connection closes), checked every second: a client trickling bytes holds no socket for
  // Node's default 5 minutes. GraphQL requests do not enter express (src/gateway/handler-chain.ts).
  const receiveMs = config.HTTP_REQUEST_TIMEOUT_MS;
  const httpServer = createServer({ requestTimeout: receiveMs, headersTimeout: receiveMs, connectionsCheckingInterval: 1_000 }, (req, res) =>
    isGraphqlPath(req.url) ? graphqlRoute(req, Object.assign(res, { locals: {} })) : app(req, res),
  );
  let draining = false;

  app.disable('x-powered-by');
  // Express hashes every body it sends for an ETag (SHA-1 of the whole answer, per request): no
  // client revalidates a GraphQL POST, and a GET's 304 would still have executed and billed the
  // query. The portal's static files keep theirs (express.static has its own).
  app.set('etag', false);
  app.set('trust proxy', TRUSTED_PROXIES);
  const logRequests = requestLogging(logger, (req, res, seconds) => {
    // Not req.url: the registry's router, mounted at /registry, leaves only the rest of its URL there.
    const graphql = isGraphqlPath(receivedUrl(req));
    const { route, baseUrl } = req as express.Request;
    const label = graphql ? GRAPHQL_PATH : (route?.path ?? baseUrl ?? 'unmatched');
    metrics.httpDuration.observe({ method: req.method, route: label, status: res.statusCode }, seconds);
    // Every answered GraphQL request of an account counts for its service level (src/sla).
    const { locals } = res as HttpResponse;
    const accountId = locals?.auth?.viewer?.access.account.id;
    if (accountId && graphql) services.sla.recorder.record(accountId, locals.operation ?? '-', res.statusCode, seconds * 1000);
  });
  app.use(logRequests);

  // Grace periods of past_due subscriptions that run out between Stripe events.
  const stopGraceChecks = services.stripeWebhooks.startGraceChecks(config.BILLING_GRACE_CHECK_INTERVAL_MS);

  // Sampled from when the gateway listens: building the schema and starting Apollo are not overload.
  // Not with the embedded database: PGlite runs every query on this event loop, so its delay
  // measures the database's work, not requests waiting (requests in flight still count).
  const sampleDelay = Boolean(config.DATABASE_URL);
  let eventLoopDelay: EventLoopDelay | undefined;
  const admission: AdmissionControl = new AdmissionControl(
    {
      enabled: config.OVERLOAD_SHEDDING,
      maxInFlight: config.OVERLOAD_MAX_IN_FLIGHT,
      maxEventLoopDelayMs: config.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      concurrency: config.OVERLOAD_CONCURRENCY,
      maxQueueMs: config.OVERLOAD_MAX_QUEUE_MS,
    },
    () => eventLoopDelay?.current() ?? 0,
    // Read by the metrics' collect(), once `admission` exists.
    overloadMetrics(metrics.registry, {
      pressure: () => admission.pressure(),
      get requestsInFlight() {
        return admission.requestsInFlight;
      },
      get requestsQueued() {
        return admission.requestsQueued;
      },
    }),
  );

  const schema = enforceAccessAtRootFields(await buildGatewaySchema());
  const graphqlWs = websocketServer(httpServer, schema, services, admission);

  const apollo = new ApolloServer<GatewayContext>({
    schema,
    parseOptions: PARSE_OPTIONS,
    formatError: formatError(logger),
    // Stacks go to the log (formatError), never to clients.
    includeStacktraceInErrorResponses: false,
    // Not tied to NODE_ENV (Apollo's default): the schema is public and introspection is cost-limited.
    introspection: config.GRAPHQL_INTROSPECTION,
    // The process's runner owns SIGTERM/SIGINT and stops everything in order (src/main.ts); Apollo's
    // own handlers (on outside NODE_ENV=test) started a second drain that the runner's waited on.
    stopOnTerminationSignals: false,
    // Compact JSON: Apollo's default indents every response, a third to a half more bytes on the wire
    // (46 % of a page of twenty histories) and a third more time to serialise.
    stringifyResult: (result) => JSON.stringify(result),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.SHUTDOWN_TIMEOUT_MS }),
      ApolloServerPluginLandingPageDisabled(),
      // No field has a cache hint, and the plugin wrapped every field's resolver to collect them:
      // the guard sends `cache-control: no-store`, what it answered for every response.
      ApolloServerPluginCacheControlDisabled(),
      metricsPlugin(metrics),
      { serverWillStart: async () => ({ drainServer: async () => void (await graphqlWs.dispose()) }) },
      guardPlugin(),
      introspectionCachePlugin(),
    ],
  });
  await apollo.start();

  // The GraphQL path, outside express. In order: a browser opening /graphql gets the portal's
  // GraphiQL; then who is calling, from the headers alone (refusals cost no body read); then
  // admission under overload (lowest tiers shed first); then a keyless request's address budget (a
  // Redis round trip, so after admission: a shed request costs none); then the body, bounded; then
  // the document within the token and shape limits; then Apollo: validation, and the guard around
  // execution (src/gateway/guard.ts).
  graphqlRoute = handlerChain(
    [
      logRequests,
      explorerRedirect,
      callerBeforeBody(services),
      admissionBeforeBody(admission),
      anonymousWithinLimit(services),
      graphqlBody(),
      documentWithinLimits(),
      apolloMiddleware(
        apollo,
        async ({ req, res }): Promise<GatewayContext> => ({
          requestId: req.id,
          log: () => requestLogger(req),
          services,
          clientIp: clientIpOf(req),
          auth: res.locals.auth ?? {},
          noteOperation: (label) => (res.locals.operation = label),
        }),
      ),
    ],
    jsonErrors,
    notFound,
  );
  // The catalog's schema registry (Confluent's REST API): the same cheap refusals before the body
  // as /graphql, its own body parser, and refusals in the registry's own error shape.
  app.use(
    REGISTRY_PATH,
    basicAuthAsKey,
    callerBeforeBody(services),
    admissionBeforeBody(admission),
    anonymousWithinLimit(services),
    registryRoutes(services.registry),
    registryErrors,
  );
  app.use(
    opsRoutes({
      checks: services.readiness,
      timeoutMs: config.READINESS_TIMEOUT_MS,
      readinessCacheMs: config.READINESS_CACHE_MS,
      metrics,
      metricsToken: config.METRICS_TOKEN,
      isDraining: () => draining,
    }),
  );
  // Raw body (the signature covers the exact bytes): its own parser, on its own path.
  app.use(stripeWebhookRoute({ config, webhooks: services.stripeWebhooks, logger }));
  // The developer portal (static build) at `/`; after every API route, so it shadows none.
  app.use(portalRoutes());
  app.use(notFound);
  app.use(jsonErrors);

  return {
    httpServer,
    listen: () =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.PORT, config.HOST, () => {
          httpServer.off('error', reject);
          if (sampleDelay) eventLoopDelay ??= new EventLoopDelay();
          const { address, port } = httpServer.address() as AddressInfo;
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${port}`);
        });
      }),
    stop: async () => {
      draining = true;
      eventLoopDelay?.stop();
      await stopGraceChecks();
      await apollo.stop();
    },
  };
}
