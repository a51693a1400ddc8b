import { createServer, type Server } from 'node:http';
import type { Command } from 'commander';
import { prepareServices } from '../app';
import { configOrExit } from '../cli/with-services';
import { createLogger } from '../ops/logger';
import { stopTracing, tracing } from '../ops/tracing';
import type { Services } from '../services';
import { startRiskConsumer } from './kafka/consumer';
import { replayRiskHistory } from './kafka/replay';
import { ensureRiskTopics } from './kafka/topics';

/** `--from` accepts an ISO time, epoch milliseconds, or `beginning`. */
export function parseFrom(value: string): number | undefined {
  if (value === 'beginning' || value === '0') return undefined;
  const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) throw new Error(`--from: expected an ISO time, epoch milliseconds or "beginning" (got "${value}")`);
  return time;
}

/** /metrics and /healthz of a consumer process, for Prometheus and orchestrators. */
function opsServer(services: Services, port: number, host: string): Promise<Server | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      services.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': services.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

async function servicesFor(quiet: boolean): Promise<Services> {
  const config = configOrExit();
  const logger = createLogger(quiet && !process.env.LOG_LEVEL ? { LOG_LEVEL: 'warn', LOG_PRETTY: config.LOG_PRETTY } : config);
  return prepareServices(config, logger);
}

export function registerRiskCommands(program: Command): void {
  const risk = program.command('risk').description('the real-time risk scoring pipeline');

  risk
    .command('consume')
    .description('run a risk consumer process: scores the transactions topic until SIGTERM (start more to share the partitions)')
    .option('--metrics-port <port>', 'serve /metrics and /healthz on this port (0 = off)', '9464')
    .action(async (options: { metricsPort: string }) => {
      const services = await servicesFor(false);
      const { logger } = services;
      let server: Server | undefined;
      try {
        server = await opsServer(services, Number(options.metricsPort), services.config.HOST);
        const consumer = await startRiskConsumer(services);
        logger.info(
          { topic: consumer.topics.transactions, groupId: consumer.groupId, metricsPort: server ? Number(options.metricsPort) : null, tracing: tracing.on ? tracing.service : 'off' },
          'risk consumer running',
        );
        void consumer.crashed.then((error) => {
          logger.fatal({ err: error }, 'the Kafka consumer crashed and will not restart; exiting');
          logger.flush();
          process.exit(1);
        });
        let stopping = false;
        const shutdown = (signal: NodeJS.Signals) => {
          if (stopping) return;
          stopping = true;
          logger.info({ signal }, 'risk consumer stopping');
          const deadline = setTimeout(() => process.exit(1), services.config.SHUTDOWN_TIMEOUT_MS + 5000);
          deadline.unref();
          void (async () => {
            await consumer.stop();
            server?.close();
            await services.close();
            await stopTracing();
            logger.info('risk consumer stopped');
            process.exit(0);
          })();
        };
        process.on('SIGTERM', shutdown);
        process.on('SIGINT', shutdown);
      } catch (error) {
        server?.close();
        await services.close();
        throw error;
      }
    });

  risk
    .command('replay')
    .description('rebuild customer state from the start of the log in a fresh consumer group and rewrite the score history (live scoring keeps running)')
    .option('--from <time>', 'rewrite history for events from this time (ISO, epoch ms or "beginning")', 'beginning')
    .option('--group <id>', 'consumer group of the replay (default: a fresh one)')
    .option('--keep-state', 'keep the replay group’s customer states and checkpoints afterwards')
    .option('--json', 'print the report as JSON')
    .action(async (options: { from: string; group?: string; keepState?: boolean; json?: boolean }) => {
      const from = parseFrom(options.from);
      const services = await servicesFor(true);
      try {
        const report = await replayRiskHistory(services, { from, groupId: options.group, keepState: options.keepState });
        if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else {
          process.stdout.write(
            `replayed ${report.scored} events in ${report.seconds} s (group ${report.groupId}): ` +
              `${report.restored} history rows restored, ${report.changed} differed from the stored history, ` +
              `${report.duplicates} duplicates, ${report.invalid} invalid\n`,
          );
        }
      } finally {
        await services.close();
        await stopTracing();
      }
    });

  risk
    .command('topics')
    .description('create the transactions, transactions.dlq and risk-scores topics if missing')
    .action(async () => {
      const services = await servicesFor(true);
      try {
        if (!services.kafka) throw new Error('KAFKA_BROKERS is not set');
        const admin = services.kafka.admin();
        await admin.connect();
        try {
          const topics = await ensureRiskTopics(admin, services.config, services.logger);
          process.stdout.write(`${Object.values(topics).join('\n')}\n`);
        } finally {
          await admin.disconnect();
        }
      } finally {
        await services.close();
      }
    });
}
