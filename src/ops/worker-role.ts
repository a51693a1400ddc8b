import { createServer, type Server } from 'node:http';
import { prepareServices } from '../app';
import { configOrExit } from '../cli/with-services';
import type { Services } from '../services';
import { createLogger } from './logger';
import { checkReadiness, type DependencyCheck } from './readiness';
import { stopOnSignals } from './signals';
import { tracing } from './tracing';

/** A long-lived worker (risk consumer, archiver) as its role runner drives it. */
export interface RunningWorker {
  /** Finishes the work in flight and lets go of what it holds (partitions, leases). */
  stop(): Promise<void>;
  /** Resolves if the worker fails in a way it will not recover from: the process exits 1 and its supervisor restarts it. */
  crashed?: Promise<Error>;
  /** What `/readyz` checks besides the worker being started and not stopping (default: the services', Kafka critical). */
  dependencies?: DependencyCheck[];
  /** Fields of the "running" log line. */
  describe?: Record<string, unknown>;
}

/**
 * The ops routes of a worker process: `/metrics` for Prometheus, `/healthz` (the process
 * answers), `/readyz` (started, not stopping, and its dependencies answer).
 */
function opsServer(services: Services, port: number, ready: () => Promise<{ ready: boolean; body: unknown }>): Promise<Server | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      services.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': services.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') json(res, 200, { status: 'ok' });
    else if (req.url === '/readyz') {
      ready().then(
        (answer) => json(res, answer.ready ? 200 : 503, answer.body),
        () => json(res, 503, { status: 'unready' }),
      );
    } else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, services.config.HOST, () => resolve(server));
  });
}

/** A worker reads Kafka: unlike the gateway, it cannot work without it. */
const workerDependencies = (services: Services) => services.readiness.map((check) => (check.name === 'kafka' ? { ...check, critical: true } : check));

/**
 * Runs a worker role until SIGTERM or SIGINT: one way for every worker process to start, serve
 * its ops routes, log, stop within SHUTDOWN_TIMEOUT_MS (then exit 1) and exit 0 when stopped.
 */
export async function runWorkerRole(role: string, metricsPort: number, start: (services: Services) => Promise<RunningWorker>): Promise<void> {
  const config = configOrExit();
  const services = await prepareServices(config, createLogger(config));
  const { logger } = services;
  let worker: RunningWorker | undefined;
  let stopping = false;
  let server: Server | undefined;
  try {
    server = await opsServer(services, metricsPort, async () => {
      if (!worker || stopping) return { ready: false, body: { status: stopping ? 'stopping' : 'starting' } };
      const readiness = await checkReadiness(worker.dependencies ?? workerDependencies(services), config.READINESS_TIMEOUT_MS);
      return { ready: readiness.ready, body: { status: readiness.ready ? 'ready' : 'unready', ...readiness } };
    });
    worker = await start(services);
  } catch (error) {
    server?.close();
    await services.close();
    throw error;
  }
  const running = worker;
  logger.info({ role, metricsPort: server ? metricsPort : null, tracing: tracing.on ? tracing.service : 'off', ...running.describe }, `${role} running`);
  void running.crashed?.then((error) => {
    logger.fatal({ err: error }, `${role} crashed and will not recover; exiting`);
    logger.flush();
    process.exit(1);
  });
  stopOnSignals(logger, config.SHUTDOWN_TIMEOUT_MS, { stopping: `${role} stopping`, stopped: `${role} stopped` }, async () => {
    stopping = true;
    await running.stop();
    server?.close();
    await services.close();
  });
}
