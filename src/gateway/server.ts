import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AuthState } from '../auth/viewer';
import { authenticate } from '../auth/authenticate';
import { TollgraphError } from '../errors';
import type { Services } from '../services';
import type { GatewayContext } from './context';
import { opsRoutes } from './ops-routes';
import { requestLogger, requestLogging } from '../ops/request-log';
import { portalRoutes } from '../portal/static';
import { stripeWebhookRoute } from '../billing/webhooks/route';
import { pipelinePlugin } from './pipeline';
import { accessStep } from './steps/access';
import { complexityStep } from './steps/complexity';
import { limitsStep } from './steps/limits';
import { usageStep } from './steps/usage';
import { formatError } from './plugins/errors';
import { metricsPlugin } from './plugins/metrics';
import { meteredSubscribe } from './metered-subscriptions';
import { buildGatewaySchema } from './schema';

export interface Gateway {
  httpServer: Server;
  /** Starts listening; resolves with the URL it listens on. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded), then stops Apollo. */
  stop(): Promise<void>;
}

export async function createGateway(services: Services): Promise<Gateway> {
  const { config, logger, metrics } = services;
  const app = express();
  const httpServer = createServer(app);
  let draining = false;

  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestLogging(logger));
  app.use((req, res, next) => {
    const stopTimer = metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => stopTimer({ route: req.route?.path ?? req.baseUrl ?? 'unmatched', status: res.statusCode }));
    next();
  });

  app.use(opsRoutes({ checks: services.readiness, timeoutMs: config.READINESS_TIMEOUT_MS, metrics, isDraining: () => draining }));
  // Raw body (the signature covers the exact bytes), so before any JSON parser.
  app.use(stripeWebhookRoute({ config, webhooks: services.stripeWebhooks, logger }));
  // Grace periods of past_due subscriptions that run out between Stripe events.
  const stopGraceChecks = services.stripeWebhooks.startGraceChecks(config.BILLING_GRACE_CHECK_INTERVAL_MS);

  const schema = await buildGatewaySchema();

  // Subscriptions (graphql-ws) on the same path. A connection needs a valid key, in the
  // connection_init payload (`{ "authorization": "Bearer …" }` or `{ "x-api-key": … }`) or the upgrade headers.
  const graphqlWs = useServer<Record<string, unknown>, { auth: AuthState; reauthenticate: () => Promise<AuthState> }>(
    {
      schema,
      subscribe: meteredSubscribe(services),
      onConnect: async (ctx) => {
        const params = Object.fromEntries(Object.entries(ctx.connectionParams ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
        const credentials = { ...ctx.extra.request.headers, ...params };
        ctx.extra.reauthenticate = () => authenticate(services.keys, services.accounts, credentials);
        ctx.extra.auth = await ctx.extra.reauthenticate();
        return ctx.extra.auth.viewer !== undefined;
      },
      context: (ctx): GatewayContext => ({
        requestId: randomUUID(),
        log: () => logger,
        services,
        clientIp: ctx.extra.request.socket.remoteAddress ?? 'unknown',
        cost: {},
        auth: ctx.extra.auth ?? {},
        reauthenticate: ctx.extra.reauthenticate,
      }),
    },
    new WebSocketServer({ server: httpServer, path: '/graphql' }),
  );

  const apollo = new ApolloServer<GatewayContext>({
    schema,
    formatError: formatError(logger),
    // Stacks go to the log (formatError), never to clients.
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.SHUTDOWN_TIMEOUT_MS }),
      ApolloServerPluginLandingPageDisabled(),
      metricsPlugin(metrics),
      { serverWillStart: async () => ({ drainServer: async () => void (await graphqlWs.dispose()) }) },
      // The request path. Before execution, in order: who is calling, what it costs, may it run
      // (reserve). After, in reverse: refund the unused part and report limits, then record usage.
      pipelinePlugin([accessStep, complexityStep, usageStep, limitsStep]),
    ],
  });
  await apollo.start();

  // A browser opening /graphql gets the portal's GraphiQL (bundled) instead of Apollo's landing
  // page, which loads from a CDN and is blank on a closed network.
  app.get('/graphql', (req, res, next) => (req.query.query === undefined && req.accepts(['json', 'html']) === 'html' ? res.redirect(302, '/#/explorer') : next()));
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const clientIp = req.ip ?? req.socket.remoteAddress ?? 'unknown';
        return {
          requestId: req.id,
          log: () => requestLogger(req),
          services,
          clientIp,
          cost: {},
          // An address caught guessing keys is refused without another key lookup.
          auth: services.abuse.isBlocked(clientIp)
            ? { refused: 'BLOCKED' as const }
            : await authenticate(services.keys, services.accounts, req.headers).catch((error) => {
                requestLogger(req).error({ err: error }, 'could not verify the API key');
                throw new TollgraphError('SERVICE_UNAVAILABLE', 'Could not verify the API key right now; retry shortly.');
              }),
        };
      },
    }),
  );
  // The developer portal (static build) at `/`; after every API route, so it shadows none.
  app.use(portalRoutes());
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  return {
    httpServer,
    listen: () =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.PORT, config.HOST, () => {
          httpServer.off('error', reject);
          const { address, port } = httpServer.address() as AddressInfo;
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${port}`);
        });
      }),
    stop: async () => {
      draining = true;
      await stopGraceChecks();
      await apollo.stop();
    },
  };
}
