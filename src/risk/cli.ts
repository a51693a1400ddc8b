import type { Command } from 'commander';
import { prepareServices } from '../app';
import { configOrExit } from '../cli/with-services';
import { createLogger } from '../ops/logger';
import { stopTracing } from '../ops/tracing';
import { runWorkerRole } from '../ops/worker-role';
import type { Services } from '../services';
import { startRiskConsumer } from './kafka/consumer';
import { replayRiskHistory, type ReplayReport } from './kafka/replay';
import { ensureRiskTopics } from './kafka/topics';
import { OPERATOR_PRODUCTS, type OperatorProduct } from './operators/product-outputs';
import { startOperatorProduct } from './operators/products';
import { replayOperator, type OperatorReplayReport } from './operators/replay';

/** `--from` accepts an ISO time, epoch milliseconds, or `beginning`. */
export function parseFrom(value: string): number | undefined {
  if (value === 'beginning' || value === '0') return undefined;
  const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) throw new Error(`--from: expected an ISO time, epoch milliseconds or "beginning" (got "${value}")`);
  return time;
}

/** A replay's report, as JSON or as a sentence. */
export function printReplayReport(report: ReplayReport & { missing?: number }, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    process.stdout.write(
      `replayed ${report.scored} events in ${report.seconds} s (group ${report.groupId}): ` +
        `${report.restored} history rows restored, ${report.changed} differed from the stored history, ` +
        `${report.duplicates} duplicates, ${report.invalid} invalid${report.missing ? `, ${report.missing} offsets missing from the archive` : ''}\n`,
    );
  }
}

export async function servicesFor(quiet: boolean): Promise<Services> {
  const config = configOrExit();
  const logger = createLogger(quiet && !process.env.LOG_LEVEL ? { LOG_LEVEL: 'warn', LOG_PRETTY: config.LOG_PRETTY } : config);
  return prepareServices(config, logger);
}

/** `--operator`: risk-scores (the risk scorer: undefined) or one of the operator products. */
function operatorProduct(value: string): OperatorProduct | undefined {
  if (value === 'risk-scores') return undefined;
  if (!(OPERATOR_PRODUCTS as readonly string[]).includes(value)) {
    throw new Error(`--operator: expected risk-scores or one of ${OPERATOR_PRODUCTS.join(', ')} (got "${value}")`);
  }
  return value as OperatorProduct;
}

/** An operator replay's report, as JSON or as a sentence. */
function printOperatorReplay(report: OperatorReplayReport, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else
    process.stdout.write(
      `replayed ${report.records} records of ${report.topic} in ${report.seconds} s (group ${report.groupId}): ${report.views} ${report.product} views, ` +
        `${report.restored} restored (missing or older), ${report.changed} differed from the stored view, ${report.unchanged} unchanged, ${report.ahead} left (the live operator is ahead)\n`,
    );
}

/** `risk consume --operator <product>`: a product's operator stages on the same worker-role runner as the risk consumer. */
function runOperator(product: OperatorProduct, metricsPort: number): Promise<void> {
  return runWorkerRole(`${product} operator`, metricsPort, async (services) => {
    const running = await startOperatorProduct(services, product);
    return { stop: () => running.stop(), crashed: running.crashed, describe: { operator: product, groups: running.groups } };
  });
}

export function registerRiskCommands(program: Command): void {
  const risk = program.command('risk').description('the real-time risk scoring pipeline');

  risk
    .command('consume')
    .description('run a risk consumer process: scores the transactions topic until SIGTERM (start more to share the partitions)')
    .option('--metrics-port <port>', 'serve /metrics and /healthz on this port (0 = off)', '9464')
    .option('--operator <product>', `the stream operator to run: risk-scores (the default), ${OPERATOR_PRODUCTS.join(', ')}`, 'risk-scores')
    .action((options: { metricsPort: string; operator: string }) => {
      const product = operatorProduct(options.operator);
      if (product) return runOperator(product, Number(options.metricsPort));
      return runWorkerRole('risk consumer', Number(options.metricsPort), async (services) => {
        const consumer = await startRiskConsumer(services);
        return {
          stop: () => consumer.stop(),
          crashed: consumer.crashed,
          describe: { topic: consumer.topics.transactions, groupId: consumer.groupId },
        };
      });
    });

  risk
    .command('replay')
    .description('rebuild customer state from the start of the log in a fresh consumer group and rewrite the score history (live scoring keeps running)')
    .option('--from <time>', 'rewrite history for events from this time (ISO, epoch ms or "beginning")', 'beginning')
    .option('--group <id>', 'consumer group of the replay (default: a fresh one)')
    .option('--keep-state', 'keep the replay group’s customer states and checkpoints afterwards')
    .option(
      '--operator <product>',
      `the product to replay: risk-scores (the default: state and score history), or ${OPERATOR_PRODUCTS.join(', ')} (state, then each key's view checked and repaired)`,
      'risk-scores',
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { from: string; group?: string; keepState?: boolean; operator: string; json?: boolean }) => {
      const product = operatorProduct(options.operator);
      // An operator keeps each key's newest view only: there is no history to rewrite from a time.
      if (product && options.from !== 'beginning') throw new Error(`--from: only for risk-scores (the score history); ${product} replays its whole log`);
      const from = parseFrom(options.from);
      const services = await servicesFor(true);
      try {
        if (product) printOperatorReplay(await replayOperator(services, product, { groupId: options.group, keepState: options.keepState }), options.json);
        else printReplayReport(await replayRiskHistory(services, { from, groupId: options.group, keepState: options.keepState }), options.json);
      } finally {
        await services.close();
        await stopTracing();
      }
    });

  risk
    .command('topics')
    .description(
      "create the transactions, transactions.dlq, risk-scores and the operators' topics (transactions-by-merchant, customer-spend-features, merchant-risk) if missing",
    )
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
