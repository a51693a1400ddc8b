import type { Command } from 'commander';
import { workerCommand } from '../archive/cli';
import { configOrExit, output } from '../cli/with-services';
import { runWorkerRole } from '../ops/worker-role';
import { parseFrom } from '../risk/cli';
import { chdbEngine } from './engine';
import { ANALYTICS_QUERIES, askArchive, clickhouseTime, isAnalyticsQuery } from './queries';
import { startAnalyticsServer } from './server';

function time(value: string, option: string): number {
  const at = parseFrom(value);
  if (at === undefined) throw new Error(`${option}: expected an ISO time or epoch milliseconds (got "${value}")`);
  return at;
}

export function registerAnalyticsCommands(program: Command): void {
  program
    .command('analytics')
    .description('questions over the archive, answered by ClickHouse’s engine (the optional dependency chdb)')
    .command('query')
    .argument('<question>', Object.keys(ANALYTICS_QUERIES).join(', '))
    .description(
      `one of: ${Object.entries(ANALYTICS_QUERIES)
        .map(([name, query]) => `${name} (${query.description})`)
        .join('; ')}`,
    )
    .requiredOption('--from <time>', 'start of the window of event times (ISO or epoch ms, inclusive)')
    .requiredOption('--to <time>', 'end of the window (exclusive)')
    .option('--json', 'print JSON')
    .action(async (question: string, options: { from: string; to: string; json?: boolean }) => {
      if (!isAnalyticsQuery(question)) throw new Error(`unknown question "${question}": expected one of ${Object.keys(ANALYTICS_QUERIES).join(', ')}`);
      const config = configOrExit();
      const params = { from: clickhouseTime(time(options.from, '--from')), to: clickhouseTime(time(options.to, '--to')) };
      const engine = await chdbEngine();
      try {
        const rows = await askArchive<Record<string, unknown>>(engine, ANALYTICS_QUERIES[question].sql(config), params);
        output(options.json, rows, rows);
      } finally {
        await engine.close();
      }
    });

  workerCommand(program)
    .command('analytics')
    .description('answer the gateway’s analytics questions (its ANALYTICS_URL) over the archive with ClickHouse’s engine, until SIGTERM')
    .option('--port <port>', 'serve the internal analytics API on this port', '9480')
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (0 = off)', '9466')
    .action((options: { port: string; metricsPort: string }) =>
      runWorkerRole('analytics', Number(options.metricsPort), async (services) => {
        const { config, logger } = services;
        const engine = await chdbEngine();
        const server = await startAnalyticsServer({
          engine,
          settings: config,
          maxRangeDays: config.ANALYTICS_MAX_RANGE_DAYS,
          host: config.HOST,
          port: Number(options.port),
          logger: logger.child({ component: 'analytics' }),
        }).catch(async (error) => {
          await engine.close();
          throw error;
        });
        return {
          // Ready once it listens: the engine is in this process, and the archive is read per question.
          dependencies: [],
          describe: { port: Number(options.port) },
          stop: async () => {
            await new Promise((resolve) => server.close(resolve));
            await engine.close();
          },
        };
      }),
    );
}
