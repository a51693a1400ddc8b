import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pinoHttp } from 'pino-http';
import { authenticate } from '../auth/authenticate';
import { TollgraphError } from '../errors';
import type { Services } from '../services';
import type { GatewayContext } from './context';
import { opsRoutes } from './ops-routes';
import { accessPlugin } from './plugins/access';
import { formatError } from './plugins/errors';
import { metricsPlugin } from './plugins/metrics';
import { buildGatewaySchema } from './schema';

export interface Gateway {
  httpServer: Server;
  /** Starts listening; resolves with the URL it listens on. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded), then stops Apollo. */
  stop(): Promise<void>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export async function createGateway(services: Services): Promise<Gateway> {
  const { config, logger, metrics } = services;
  const app = express();
  const httpServer = createServer(app);
  let draining = false;

  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger,
      // Callers may pass their own id for tracing; anything odd is replaced, never echoed.
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug'),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
    }),
  );
  app.use((req, res, next) => {
    const stopTimer = metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => stopTimer({ route: req.route?.path ?? req.baseUrl ?? 'unmatched', status: res.statusCode }));
    next();
  });

  app.use(opsRoutes({ checks: services.readiness, timeoutMs: config.READINESS_TIMEOUT_MS, metrics, isDraining: () => draining }));

  const apollo = new ApolloServer<GatewayContext>({
    schema: await buildGatewaySchema(),
    formatError: formatError(logger),
    // Stacks go to the log (formatError), never to clients.
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.SHUTDOWN_TIMEOUT_MS }),
      metricsPlugin(metrics),
      accessPlugin(),
    ],
  });
  await apollo.start();

  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({
        requestId: String(req.id),
        log: req.log,
        services,
        auth: await authenticate(services.keys, services.accounts, req.headers).catch((error) => {
          req.log.error({ err: error }, 'could not verify the API key');
          throw new TollgraphError('SERVICE_UNAVAILABLE', 'Could not verify the API key right now; retry shortly.');
        }),
      }),
    }),
  );
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
      await apollo.stop();
    },
  };
}
