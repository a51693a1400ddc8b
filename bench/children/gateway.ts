/**
 * A GraphQL server for the gateway benchmarks, in its own process.
 *
 * - `BENCH_MODE=full`: Tollgraph exactly as `npm start` runs it (src/app.ts startGateway): request
 *   ids and logs, key verification through the cache, cost analysis, Redis burst and daily limits
 *   (reserve, refund), the usage ledger (group commit) before the response, metrics.
 * - `BENCH_MODE=bare`: the same schema and resolvers on bare Apollo Server 5 + express, with none
 *   of that: every request runs as the benchmark's (pre-verified) subscriber.
 */
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { startGateway } from '../../src/app';
import { loadConfig } from '../../src/config/load';
import type { GatewayContext } from '../../src/gateway/context';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { createLogger } from '../../src/ops/logger';
import { buildServices } from '../../src/services';
import { childMain, tell, type ChildMessage } from '../lib/common';

/**
 * A CPU profile of this process on request (`profile-start`, then `profile-stop`, answered by
 * `profile` with the profile as JSON text), so the parent can profile one run, not the whole life.
 */
function answerProfileRequests(): void {
  const session = new Session();
  session.connect();
  process.on('message', (message: ChildMessage) => {
    if (message.type === 'profile-start') {
      void (async () => {
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 100 });
        await session.post('Profiler.start');
        tell({ type: 'profiling' });
      })();
    } else if (message.type === 'profile-stop') {
      void session.post('Profiler.stop').then(({ profile }) => tell({ type: 'profile', profile: JSON.stringify(profile) }));
    }
  });
}

childMain(async () => {
  answerProfileRequests();
  const config = loadConfig({ ...process.env });
  const logger = createLogger(config);
  const mode = process.env.BENCH_MODE;
  if (mode === 'full') {
    const gateway = await startGateway(config, logger);
    process.once('SIGTERM', () => void gateway.stop().finally(() => process.exit(0)));
    tell({ type: 'ready', url: gateway.url });
    return;
  }
  if (mode !== 'bare') throw new Error(`BENCH_MODE must be full or bare (got ${mode})`);

  const services = await buildServices(config, logger);
  const verified = await services.keys.verify(process.env.BENCH_API_KEY ?? '');
  if (!verified.valid) throw new Error(`the benchmark key is not valid: ${verified.reason}`);
  const access = await services.accounts.access(verified.key.accountId);
  if (!access) throw new Error('the benchmark account is disabled');
  const viewer = { key: verified.key, access };

  const apollo = new ApolloServer<GatewayContext>({ schema: await buildGatewaySchema() });
  await apollo.start();
  const app = express();
  let requests = 0;
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async () => ({ requestId: String(++requests), log: () => logger, services, clientIp: '127.0.0.1', cost: {}, auth: { viewer } }),
    }),
  );
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  const { port } = server.address() as AddressInfo;
  process.once('SIGTERM', () => {
    server.close();
    void apollo
      .stop()
      .then(() => services.close())
      .finally(() => process.exit(0));
  });
  tell({ type: 'ready', url: `http://127.0.0.1:${port}` });
});
