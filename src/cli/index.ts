import 'reflect-metadata';
import { Command } from 'commander';
import { registerAccountCommands } from '../accounts/cli';
import { registerAnalyticsCommands } from '../analytics/cli';
import { registerArchiveCommands } from '../archive/cli';
import { registerBillingCommands } from '../billing/cli';
import { printableConfig } from '../config/printable';
import { configOrExit } from './with-services';
import { openDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { buildGatewaySchema, printGatewaySchema } from '../gateway/schema';
import { main } from '../main';
import { registerKeyCommands } from '../keys/cli';
import { VERSION } from '../ops/version';
import { registerPlanCommands } from '../plans/cli';
import { registerRiskCommands } from '../risk/cli';
import { registerFeedCommand } from '../feed/cli';

export function buildCli(): Command {
  const program = new Command('tollgraph').description('Tollgraph: a metered GraphQL gateway for real-time risk scores').version(VERSION);

  program
    .command('serve')
    .description('run the gateway (the same as `npm start`)')
    .action(() => main());

  program
    .command('config')
    .description('validate the configuration from the environment and .env')
    .command('check')
    .option('--json', 'print the effective configuration as JSON (secrets hidden)')
    .action((options: { json?: boolean }) => {
      const config = configOrExit();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(printableConfig(config), null, 2)}\n`);
      } else process.stdout.write('configuration is valid\n');
    });

  program
    .command('db')
    .description('database tasks')
    .command('migrate')
    .description('apply pending migrations to DATABASE_URL (or the embedded database in DATA_DIR)')
    .action(async () => {
      const config = configOrExit();
      const db = await openDatabase(config.DATABASE_URL ? { url: config.DATABASE_URL, poolSize: 1 } : { dataDir: config.DATA_DIR });
      try {
        const applied = await applyMigrations(db);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      } finally {
        await db.close();
      }
    });

  program
    .command('schema')
    .description('GraphQL schema tasks')
    .command('print')
    .description('print the public GraphQL schema (the source of schema.graphql)')
    .action(async () => {
      process.stdout.write(printGatewaySchema(await buildGatewaySchema()));
    });

  registerAccountCommands(program);
  registerKeyCommands(program);
  registerPlanCommands(program);
  registerBillingCommands(program);
  registerRiskCommands(program);
  registerFeedCommand(program);
  registerArchiveCommands(program);
  registerAnalyticsCommands(program);
  return program;
}

export function run(argv: string[]): void {
  buildCli()
    .parseAsync(argv)
    .catch((error: unknown) => {
      process.stderr.write(`tollgraph: ${(error as Error).message}\n`);
      process.exit(1);
    });
}
