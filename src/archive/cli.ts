import type { Command } from 'commander';
import { runWorkerRole } from '../ops/worker-role';
import { stopTracing } from '../ops/tracing';
import { parseFrom, printReplayReport, servicesFor } from '../risk/cli';
import type { Config } from '../config/schema';
import { startArchiver } from './archiver';
import { ArchiveConfigError, objectStoreFor } from './object-store';
import { replayFromArchive } from './replay';
import { ArchiveManifest } from './manifest';
import { pruneHistory, retentionCutoff } from './retention';
import { output } from '../cli/with-services';

/** The `worker` command group, whoever registered it first. */
export function workerCommand(program: Command): Command {
  return program.commands.find((command) => command.name() === 'worker') ?? program.command('worker').description('background workers');
}

async function configuredStore(config: Config) {
  const store = await objectStoreFor(config);
  if (!store) throw new ArchiveConfigError('ARCHIVE_S3_BUCKET or ARCHIVE_DIR: set one to say where the archive is');
  return store;
}

export function registerArchiveCommands(program: Command): void {
  workerCommand(program)
    .command('archive')
    .description('archive the transactions and risk-scores topics as Parquet in S3 (or ARCHIVE_DIR) until SIGTERM (start more to share the partitions)')
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (0 = off)', '9465')
    .action((options: { metricsPort: string }) =>
      runWorkerRole('archiver', Number(options.metricsPort), async (services) => {
        const { config } = services;
        const store = await configuredStore(config);
        const archiver = await startArchiver(services, {
          store,
          prefix: config.ARCHIVE_PREFIX,
          groupId: `${config.KAFKA_TOPIC_PREFIX}${config.ARCHIVE_CONSUMER_GROUP}`,
          segmentEvents: config.ARCHIVE_SEGMENT_EVENTS,
          segmentMaxAgeMs: config.ARCHIVE_SEGMENT_MAX_AGE_MS,
        });
        return { stop: archiver.stop, crashed: archiver.crashed, describe: { store: store.location, topics: archiver.topics, groupId: archiver.groupId } };
      }),
    );

  const archive = program.command('archive').description('the archive of the transactions and risk-scores topics');
  archive
    .command('replay')
    .description(
      'rebuild customer state and the score history from the archived transactions (after Kafka has dropped them), in a fresh group, as `risk replay` does from Kafka',
    )
    .option('--from <time>', 'rewrite history for events from this time (ISO, epoch ms or "beginning")', 'beginning')
    .option('--group <id>', 'group of the replay’s state (default: a fresh one)')
    .option('--keep-state', 'keep the replay’s customer states and checkpoints afterwards')
    .option('--json', 'print the report as JSON')
    .action(async (options: { from: string; group?: string; keepState?: boolean; json?: boolean }) => {
      const from = parseFrom(options.from);
      const services = await servicesFor(true);
      try {
        const store = await configuredStore(services.config);
        await store.check();
        printReplayReport(await replayFromArchive(services, store, { from, groupId: options.group, keepState: options.keepState }), options.json);
      } finally {
        await services.close();
        await stopTracing();
      }
    });

  archive
    .command('retain')
    .description(
      'one history retention pass now (the archiver runs one every 10 minutes): delete the score history older than HISTORY_RETENTION_DAYS that the archive holds',
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      const services = await servicesFor(true);
      try {
        const days = services.config.HISTORY_RETENTION_DAYS;
        if (!days) throw new ArchiveConfigError('HISTORY_RETENTION_DAYS is not set: PostgreSQL keeps the whole history');
        const store = await configuredStore(services.config);
        await store.check();
        const report = await pruneHistory({ sql: services.db.sql, manifest: new ArchiveManifest(services.db.sql), store }, retentionCutoff(days));
        output(options.json, report, [{ ...report }]);
      } finally {
        await services.close();
      }
    });
}
